#!/usr/bin/env bash
# Everything only a GPU can show, in one call (at most 8 minutes on one H100 or H200), after
# ../shared/gpu/pack and its two transfers (see ../shared/gpu/README.md):
#   1. the CUDA-only tests (bf16, channels_last, fused Adam, compile; skipped without pytest);
#   2. bench/throughput.py over the speed options and batch sizes (DCGAN-32 on CIFAR-10 and
#      DCGAN-64 on CelebA-sized images against the plain PyTorch loop; then the recipes
#      sngan_cifar, biggan_cifar, stylegan2_cifar and r3gan_cifar, each its own step, fp32 and
#      all four speed options), with the share of the chip's bf16 peak;
#   3. a short sngan_cifar run and its FID-10k against the JPEG CIFAR-10 train split.
# Every figure goes into one table, $OUT/gpu.md (and each step's log beside it).
#
#   bash bench/gpu.sh              # on the GPU machine, after 'source .gpu2/device-setup'
#   bash bench/gpu.sh --dry-run    # the same script end to end on the CPU at toy sizes (<1 min)
#
# A step that fails is marked FAILED in the table, with its log, and the others still run.
set -uo pipefail
cd "$(dirname "$0")/.."

DRY=0
[ "${1:-}" = "--dry-run" ] && DRY=1
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
ganzoo() { "$PY" -m ganzoo "$@"; }
DATA=${GANZOO_DATA_ROOT:-../shared/data}

if [ "$DRY" = 1 ]; then
    DEVICE=cpu
    TESTS=(tests/test_speed_options.py -k "compiled_steps_match")
    THROUGHPUT=(--cases cifar --steps 1 --warmup 1 --rounds 1 --batch-sizes 8
                --recipe-overrides generator.ngf=8,discriminator.ndf=8,train.compile=false)
    RUN=(train.steps=4 train.batch_size=8 generator.ngf=8 discriminator.ndf=8
         train.log_every=2 train.sample_every=4 train.checkpoint_every=4)
    FID_N=16
else
    DEVICE=cuda
    TESTS=(tests/test_speed_options.py tests/test_engine.py -k "cuda or bf16 or compile or fused or channels")
    THROUGHPUT=(--cases cifar,celeba --steps 20 --warmup 5 --rounds 3 --batch-sizes 64,256,1024
                --speed-options --recipe-batch-sizes 256)
    RUN=(train.steps=5000 train.precision=bf16 train.channels_last=true train.fused_adam=true)
    FID_N=10000
fi
# CIFAR-10: the JPEG copy device-setup unpacks, else the subset beside the checkout
if [ -d /tmp/gz/cifar10/train ]; then
    CIFAR=(data.name=image_folder data.root=/tmp/gz/cifar10/train data.image_size=32)
    AGAINST="JPEG CIFAR-10 train"
else
    CIFAR=(data.root="$DATA/cifar10/cifar-10-batches-py-subset" data.verify=false)
    AGAINST="CIFAR-10 subset train"
fi
ZOO_RECIPES=sngan_cifar,biggan_cifar,stylegan2_cifar,r3gan_cifar
INCEPTION=${GANZOO_FID_INCEPTION:-../shared/models/inception-2015-12-05-fid.torchscript.pt}

rows=()
step() {  # step NAME LOG COMMAND...: run it, keep its log, and record whether it passed
    local name=$1 log=$2
    shift 2
    local start=$SECONDS
    if "$@" >"$OUT/$log" 2>&1; then
        rows+=("| $name | ok | $((SECONDS - start)) | \`$log\` |")
    else
        rows+=("| $name | FAILED | $((SECONDS - start)) | \`$log\` (last line: $(tail -n 1 "$OUT/$log" | tr '|' '/')) |")
    fi
}

if "$PY" -c "import pytest" 2>/dev/null; then
    step "CUDA-only tests" tests.log "$PY" -m pytest -q -p no:cacheprovider "${TESTS[@]}"
else
    rows+=("| CUDA-only tests | skipped: no pytest here | 0 | |")
fi
step "throughput and speed options" throughput.log \
    "$PY" bench/throughput.py --device "$DEVICE" --data-root "$DATA" "${THROUGHPUT[@]}" \
    --recipes "$ZOO_RECIPES"
step "sngan_cifar run" sngan_run.log \
    ganzoo run sngan_cifar "${CIFAR[@]}" "${RUN[@]}" train.device="$DEVICE" \
    train.run_dir="$OUT/sngan_run"
step "sngan_cifar FID-$FID_N vs $AGAINST" sngan_fid.log \
    ganzoo eval "$OUT/sngan_run" --n "$FID_N" --metrics fid,kid --device "$DEVICE" \
    --extractor-path "$INCEPTION"

{
    echo "# bench/gpu.sh$([ "$DRY" = 1 ] && echo " --dry-run (CPU, toy sizes: no GPU figure)")"
    echo
    echo "$(date -u +%Y-%m-%d), $("$PY" -c 'import torch; print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU", end=", torch "); print(torch.__version__)')"
    echo
    echo "| step | result | seconds | log |"
    echo "|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
    echo
    echo "## Throughput"
    echo
    grep -v "^[┏┡└]" "$OUT/throughput.log" | head -n 120
    echo
    echo "## FID"
    echo
    grep -E "│ (fid|kid_mean|kid_std|n_generated|n_reference|resize) " "$OUT/sngan_fid.log"
} >"$OUT/gpu.md"
cat "$OUT/gpu.md"
grep -q "| FAILED |" "$OUT/gpu.md" && exit 1
exit 0
