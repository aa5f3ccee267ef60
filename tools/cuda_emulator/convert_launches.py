"""Rewrites each `kernel<<<grid, block>>>(args);` of a .cu file as
`::emulator::launch(dim3(grid), dim3(block), [&]() { kernel(args); });` (plain C++).

A launch must start its own line (after indentation), as every launch in csrc/cuda does.
"""
import sys


def split_at_top_level_comma(text):
    depth = 0
    for index, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            return text[:index], text[index + 1:]
    raise ValueError(f"no grid, block pair in <<<{text}>>>")


def closing_parenthesis(text, start):
    depth = 0
    for index in range(start, len(text)):
        if text[index] == "(":
            depth += 1
        elif text[index] == ")":
            depth -= 1
            if depth == 0:
                return index
    raise ValueError("unbalanced parentheses after a launch")


def convert(source):
    pieces, position = [], 0
    while (open_launch := source.find("<<<", position)) >= 0:
        line_start = source.rfind("\n", 0, open_launch) + 1
        line = source[line_start:open_launch]
        kernel_start = line_start + len(line) - len(line.lstrip())
        close_launch = source.find(">>>", open_launch)
        grid, block = split_at_top_level_comma(source[open_launch + 3:close_launch])
        arguments_end = closing_parenthesis(source, close_launch + 3)
        if source[arguments_end + 1] != ";":
            raise ValueError("a launch must be a statement of its own")
        kernel = source[kernel_start:open_launch]
        arguments = source[close_launch + 4:arguments_end]
        pieces.append(source[position:kernel_start])
        pieces.append(f"::emulator::launch(dim3({grid}), dim3({block}), "
                      f"[&]() {{ {kernel}({arguments}); }});")
        position = arguments_end + 2
    pieces.append(source[position:])
    return "".join(pieces)


if __name__ == "__main__":
    with open(sys.argv[1]) as source, open(sys.argv[2], "w") as target:
        target.write(convert(source.read()))
