"""What a benchmark run reports as a failure of its own (one line, no traceback)."""


class BenchFailed(Exception):
    pass
