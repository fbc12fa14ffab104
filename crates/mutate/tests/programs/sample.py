import math


def summarize(grid, k):
    """Row sums above k, and the best window."""
    def row_total(row):
        return sum(x * 2 for x in row if x > 0)

    totals = [row_total(r) for r in grid if len(r) >= 1]
    best, i = 0, 0
    while i < len(totals) - 1 and not best == k:
        window = totals[i:i + k]
        best = max(best, window[0] + window[-1]) if window else best
        i += 1
    return divmod(best, k), totals[1:]
