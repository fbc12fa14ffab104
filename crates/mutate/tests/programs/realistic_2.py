import sys


class Solver:
    LIMIT = 10 ** 9 + 7

    def __init__(self, values):
        self.values = list(values)

    def prefix(self):
        out = [0] * (len(self.values) + 1)
        for i, v in enumerate(self.values):
            out[i + 1] = (out[i] + v) % self.LIMIT
        return out

    def query(self, lo, hi):
        p = self.prefix()
        if lo > hi or hi >= len(p):
            raise ValueError(f"bad range {lo}..{hi}")
        return p[hi + 1] - p[lo]


def main():
    data = sys.stdin.read().split()
    n = int(data[0])
    values = [int(x) for x in data[1:n + 1]]
    s = Solver(values)
    while True:
        line = input().strip()
        if line == "end":
            break
        lo, hi = map(int, line.split())
        print(s.query(lo, hi), end="\n")


if __name__ == "__main__":
    main()
