"""Text-to-image: GAN-CLS with GAN-INT (Reed et al., 2016, "Generative Adversarial Text to
Image Synthesis").

Three networks: G draws an image for z and a text embedding, D tells whether an image is real
and matches a text embedding (a real image with another image's caption is a third kind of
fake), and a text encoder T turns a caption's tokens into the embedding. The paper pre-trains
its char-CNN-RNN encoder on a structured joint embedding of images and captions and keeps it
fixed; nothing pre-trained can be had offline here, so T is trained from scratch with D, on
D's objective: telling matching captions from mismatched ones is itself a matching objective.
Data: a folder of images with a caption file beside each, and MNIST captioned from its labels
and measured ink (thickness, slant), with phrasings held out for the measure.
"""

from __future__ import annotations

from dataclasses import dataclass

from ganzoo import hookimpl
from ganzoo.errors import GanzooError
from ganzoo.options import one_of, positive
from ganzoo.roles import Role

GAN_CLS_ROLES = {
    "generator": Role("generator", "optim_g", field="x",
                      summary="G: z and the caption's compressed embedding -> an image"),
    "discriminator": Role("discriminator", "optim_d", field="x",
                          summary="D: an image and a text embedding -> real and matching or not"),
    "text_encoder": Role("text_encoder", "optim_d", field="caption",
                         summary="T: a caption's tokens -> its embedding; trained with D, "
                                 "on D's objective"),
}


def fraction(name: str, value: float) -> None:
    if not 0 <= value <= 1:
        raise ValueError(f"{name}: must be in [0, 1] (got {value})")


@dataclass
class GanClsOptions:
    cls_weight: float = 0.5  # weight of (real image, mismatched text) in D's fake terms
    interp_weight: float = 1.0  # GAN-INT: weight of G's term on interpolated embeddings; 0: off
    interp_beta: float = 0.5  # t = beta t1 + (1 - beta) t2

    def __post_init__(self) -> None:
        fraction("cls_weight", self.cls_weight)
        fraction("interp_beta", self.interp_beta)
        if self.interp_weight < 0:
            raise ValueError(f"interp_weight: must be 0 or more (got {self.interp_weight})")


@dataclass
class TextGeneratorOptions:
    latent_dim: int = 100  # z
    text_dim: int = 1024  # the text encoder's embedding_dim
    projected_dim: int = 128  # the embedding compressed by FC + leaky ReLU, joined to z
    ngf: int = 128  # channels before the last layer; x2 each layer up to 4x4

    def __post_init__(self) -> None:
        for name in ("latent_dim", "text_dim", "projected_dim", "ngf"):
            positive(name, getattr(self, name))


@dataclass
class MatchingDiscriminatorOptions:
    text_dim: int = 1024  # the text encoder's embedding_dim
    projected_dim: int = 128  # the embedding compressed, repeated over 4x4, joined on channels
    ndf: int = 64  # channels of the first layer; x2 each layer down to 4x4

    def __post_init__(self) -> None:
        for name in ("text_dim", "projected_dim", "ndf"):
            positive(name, getattr(self, name))


@dataclass
class CNNRNNOptions:
    embedding_dim: int = 1024  # the paper's text embedding length
    word_dim: int = 128  # each word's learned vector
    channels: int = 256  # of the temporal convolution
    hidden: int = 512  # of the GRU

    def __post_init__(self) -> None:
        for name in ("embedding_dim", "word_dim", "channels", "hidden"):
            positive(name, getattr(self, name))


@dataclass
class MNISTCaptionsOptions:
    root: str = "data"  # the folder that holds MNIST/raw/
    split: str = "train"  # train | test
    image_size: int = 32  # 28 is native; DCGAN's layers want a power of 2
    phrasings: str = "train"  # train | held_out | all: which phrasings the captions use
    max_words: int = 12  # tokens per caption (the longest phrasing has 9 words)

    def __post_init__(self) -> None:
        one_of("split", self.split, ("train", "test"))
        one_of("phrasings", self.phrasings, ("train", "held_out", "all"))
        positive("image_size", self.image_size)
        if self.max_words < 9:
            raise ValueError(f"max_words: must be at least 9, the longest caption's words "
                             f"(got {self.max_words})")


@dataclass
class CaptionFolderOptions:
    root: str = "data/captioned"  # images with a .txt beside each, one caption a line
    image_size: int = 64  # resize the short side, then centre-crop
    channels: int = 3  # 3: RGB, 1: grayscale
    max_words: int = 32  # tokens per caption; a longer caption is refused
    hflip: bool = False  # mirror each training image left-right with probability 1/2

    def __post_init__(self) -> None:
        positive("image_size", self.image_size)
        positive("max_words", self.max_words)
        one_of("channels", self.channels, (1, 3))


def build_gan_cls(options: GanClsOptions):
    """GAN-CLS + GAN-INT: a matching-aware D (mismatched captions as fakes), G on
    interpolated text too"""
    from ganzoo_builtins.text2image.game import GanCls

    return GanCls(options)


def dcgan_sized(who: str, image_shape) -> tuple[int, ...]:
    shape = tuple(image_shape)
    size = shape[-1] if len(shape) == 3 else 0
    if len(shape) != 3 or shape[1] != size or size < 8 or size & (size - 1):
        raise GanzooError(f"{who} takes square images of a power-of-2 size of at least 8 "
                          f"(got samples of shape {'x'.join(map(str, shape))}); resize them "
                          "(data.image_size)")
    return shape


def no_classes(who: str, num_classes) -> None:
    if num_classes:
        raise GanzooError(f"{who} is conditioned on text, not class labels; set "
                          "conditional: false")


def build_generator(options: TextGeneratorOptions, image_shape, num_classes):
    """GAN-CLS G: z and the compressed text embedding -> DCGAN's transposed convolutions"""
    from ganzoo_builtins.text2image.networks import TextToImageGenerator

    no_classes("generator 'gan_cls'", num_classes)
    return TextToImageGenerator(options, dcgan_sized("generator 'gan_cls'", image_shape))


def build_discriminator(options: MatchingDiscriminatorOptions, image_shape, num_classes):
    """GAN-CLS D: DCGAN's convolutions to 4x4, the compressed text joined there, one logit"""
    from ganzoo_builtins.text2image.networks import MatchingDiscriminator

    no_classes("discriminator 'gan_cls'", num_classes)
    return MatchingDiscriminator(options, dcgan_sized("discriminator 'gan_cls'", image_shape))


def build_cnn_rnn(options: CNNRNNOptions, caption_shape, vocabulary):
    """Words -> convolution -> GRU, averaged over the words -> the text embedding"""
    from ganzoo_builtins.text2image.networks import CNNRNNEncoder

    return CNNRNNEncoder(options, tuple(caption_shape), tuple(vocabulary))


def build_mnist_captions(options: MNISTCaptionsOptions):
    """MNIST digits captioned from their labels and measured thickness and slant"""
    from ganzoo_builtins.text2image.data import load_mnist_captions

    return load_mnist_captions(options.root, options.split, options.image_size,
                               options.phrasings, options.max_words)


def mnist_caption_fields(options: MNISTCaptionsOptions):
    from ganzoo.interfaces import Field
    from ganzoo_builtins.text2image.data import caption_field, mnist_vocabulary

    return {"x": Field((1, options.image_size, options.image_size), "float32", "the images"),
            "caption": caption_field(options.max_words, mnist_vocabulary())}


def build_caption_folder(options: CaptionFolderOptions):
    """A folder of images, each with its captions in a .txt file beside it"""
    from pathlib import Path

    from ganzoo_builtins.text2image.data import load_caption_folder

    return load_caption_folder(Path(options.root).expanduser(), options.image_size,
                               options.channels, options.max_words, options.hflip)


@hookimpl
def ganzoo_register_games(register):
    register("gan_cls", build_gan_cls, options=GanClsOptions, roles=GAN_CLS_ROLES)


@hookimpl
def ganzoo_register_generators(register):
    register("gan_cls", build_generator, options=TextGeneratorOptions)


@hookimpl
def ganzoo_register_discriminators(register):
    register("gan_cls", build_discriminator, options=MatchingDiscriminatorOptions)


@hookimpl
def ganzoo_register_text_encoders(register):
    register("cnn_rnn", build_cnn_rnn, options=CNNRNNOptions)


@hookimpl
def ganzoo_register_datasets(register):
    from ganzoo_builtins.mnist import MNIST_TERMS

    register("mnist_captions", build_mnist_captions, options=MNISTCaptionsOptions,
             sample_shape=lambda o: (1, o.image_size, o.image_size),
             fields=mnist_caption_fields, licence=MNIST_TERMS)
    register("caption_folder", build_caption_folder, options=CaptionFolderOptions,
             sample_shape=lambda o: (o.channels, o.image_size, o.image_size),
             licence="your own images and captions: state their licence here before sharing "
                     "the model")
