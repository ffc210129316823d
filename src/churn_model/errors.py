"""The one exception type that means "the user's input is wrong", not "the code is broken"."""


class UserError(Exception):
    """A problem with input, configuration or state that the user can fix.

    The CLI prints its message (one clear sentence, or a list of problems) without a traceback and
    exits non-zero. Anything else that escapes is a bug and keeps its traceback.
    """
