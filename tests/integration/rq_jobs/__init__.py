"""Jobs for the RQ test: one that returns, one that raises."""


def add(a, b):
    return a + b


def fail():
    raise ValueError("boom")
