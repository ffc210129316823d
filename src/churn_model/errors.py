"""The one exception type that means "the user's input is wrong", not "the code is broken"."""


class UserError(Exception):
    """A problem with input, configuration or state that the user can fix.

    The CLI prints its message (one clear sentence, or a list of problems) without a traceback and
    exits non-zero. Anything else that escapes is a bug and keeps its traceback.
    """


def first_line(error: BaseException) -> str:
    """The first non-empty line of ``error``'s message, stripped, or its type's name if it has none.

    For one-sentence messages that quote a library's error: its first line says what went wrong,
    the rest (a traceback of its own, a dump of the input) would not fit in a sentence.
    """
    lines = (line.strip() for line in str(error).splitlines())
    return next((line for line in lines if line), type(error).__name__)
