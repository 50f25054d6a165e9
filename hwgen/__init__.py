"""hwgen: per-student backpropagation homework, worked solutions and a safe, fair autograder."""

__version__ = "0.1.0"
