"""The one exception type for problems with what the user gave us."""


class GanzooError(Exception):
    """Bad input (recipe, name, data, checkpoint): shown as one line, exit code 2.

    The message names what is wrong and where, and says what to do about it.
    """
