from typing import List


def below_zero(operations: List[int]) -> bool:
    """Detect whether a running balance ever drops below zero.

    >>> below_zero([1, 2, -4, 5])
    True
    """
    balance = 0
    for op in operations:
        balance += op
        if balance < 0:
            return True
    return False


def rolling_max(numbers: List[int]) -> List[int]:
    running_max = None
    result = []
    for n in numbers:
        if running_max is None:
            running_max = n
        else:
            running_max = max(running_max, n)
        result.append(running_max)
    return result
