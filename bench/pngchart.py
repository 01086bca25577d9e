"""A grouped bar chart written as a PNG with nothing but the standard library
(zlib + struct), so that bench/run needs no matplotlib.

    bar_chart(path, title, groups, series, subtitle="", ref=1.0)

groups: the x labels; series: [(name, (r, g, b), [value or None per group])].
Text is drawn in a built-in 5x7 upper-case bitmap font.
"""

import struct
import zlib

_GLYPHS = {
    "A": ".###.|#...#|#...#|#####|#...#|#...#|#...#",
    "B": "####.|#...#|#...#|####.|#...#|#...#|####.",
    "C": ".###.|#...#|#....|#....|#....|#...#|.###.",
    "D": "####.|#...#|#...#|#...#|#...#|#...#|####.",
    "E": "#####|#....|#....|####.|#....|#....|#####",
    "F": "#####|#....|#....|####.|#....|#....|#....",
    "G": ".###.|#...#|#....|#.###|#...#|#...#|.####",
    "H": "#...#|#...#|#...#|#####|#...#|#...#|#...#",
    "I": ".###.|..#..|..#..|..#..|..#..|..#..|.###.",
    "J": "..###|...#.|...#.|...#.|...#.|#..#.|.##..",
    "K": "#...#|#..#.|#.#..|##...|#.#..|#..#.|#...#",
    "L": "#....|#....|#....|#....|#....|#....|#####",
    "M": "#...#|##.##|#.#.#|#.#.#|#...#|#...#|#...#",
    "N": "#...#|#...#|##..#|#.#.#|#..##|#...#|#...#",
    "O": ".###.|#...#|#...#|#...#|#...#|#...#|.###.",
    "P": "####.|#...#|#...#|####.|#....|#....|#....",
    "Q": ".###.|#...#|#...#|#...#|#.#.#|#..#.|.##.#",
    "R": "####.|#...#|#...#|####.|#.#..|#..#.|#...#",
    "S": ".####|#....|#....|.###.|....#|....#|####.",
    "T": "#####|..#..|..#..|..#..|..#..|..#..|..#..",
    "U": "#...#|#...#|#...#|#...#|#...#|#...#|.###.",
    "V": "#...#|#...#|#...#|#...#|#...#|.#.#.|..#..",
    "W": "#...#|#...#|#...#|#.#.#|#.#.#|#.#.#|.#.#.",
    "X": "#...#|#...#|.#.#.|..#..|.#.#.|#...#|#...#",
    "Y": "#...#|#...#|.#.#.|..#..|..#..|..#..|..#..",
    "Z": "#####|....#|...#.|..#..|.#...|#....|#####",
    "0": ".###.|#...#|#..##|#.#.#|##..#|#...#|.###.",
    "1": "..#..|.##..|..#..|..#..|..#..|..#..|.###.",
    "2": ".###.|#...#|....#|...#.|..#..|.#...|#####",
    "3": "#####|...#.|..#..|...#.|....#|#...#|.###.",
    "4": "...#.|..##.|.#.#.|#..#.|#####|...#.|...#.",
    "5": "#####|#....|####.|....#|....#|#...#|.###.",
    "6": "..##.|.#...|#....|####.|#...#|#...#|.###.",
    "7": "#####|....#|...#.|..#..|.#...|.#...|.#...",
    "8": ".###.|#...#|#...#|.###.|#...#|#...#|.###.",
    "9": ".###.|#...#|#...#|.####|....#|...#.|.##..",
    " ": ".....|.....|.....|.....|.....|.....|.....",
    ".": ".....|.....|.....|.....|.....|.##..|.##..",
    ",": ".....|.....|.....|.....|.##..|..#..|.#...",
    "-": ".....|.....|.....|#####|.....|.....|.....",
    "/": ".....|....#|...#.|..#..|.#...|#....|.....",
    ":": ".....|.##..|.##..|.....|.##..|.##..|.....",
    ";": ".....|.##..|.##..|.....|.##..|..#..|.#...",
    "(": "...#.|..#..|.#...|.#...|.#...|..#..|...#.",
    ")": ".#...|..#..|...#.|...#.|...#.|..#..|.#...",
    "%": "##...|##..#|...#.|..#..|.#...|#..##|...##",
    "=": ".....|.....|#####|.....|#####|.....|.....",
    "+": ".....|..#..|..#..|#####|..#..|..#..|.....",
    "_": ".....|.....|.....|.....|.....|.....|#####",
    ">": ".#...|..#..|...#.|....#|...#.|..#..|.#...",
    "<": "...#.|..#..|.#...|#....|.#...|..#..|...#.",
    "?": ".###.|#...#|....#|...#.|..#..|.....|..#..",
}
_FONT = {ch: [row for row in g.split("|")] for ch, g in _GLYPHS.items()}

WHITE = (255, 255, 255)
BLACK = (0, 0, 0)
GREY = (200, 200, 200)
DARK = (90, 90, 90)


class Canvas:
    def __init__(self, width, height, bg=WHITE):
        self.w, self.h = width, height
        self.px = bytearray(bytes(bg) * (width * height))

    def rect(self, x0, y0, x1, y1, color):
        """Fill [x0, x1) x [y0, y1), clipped."""
        x0, x1 = max(0, int(x0)), min(self.w, int(x1))
        y0, y1 = max(0, int(y0)), min(self.h, int(y1))
        if x0 >= x1:
            return
        line = bytes(color) * (x1 - x0)
        for y in range(y0, y1):
            i = (y * self.w + x0) * 3
            self.px[i:i + len(line)] = line

    def hline(self, x0, x1, y, color, dash=0):
        if not dash:
            self.rect(x0, y, x1, y + 1, color)
            return
        for x in range(int(x0), int(x1), 2 * dash):
            self.rect(x, y, min(x + dash, x1), y + 1, color)

    def text(self, x, y, s, color=BLACK, scale=1):
        """Draw s with its top-left corner at (x, y); returns the width."""
        for n, ch in enumerate(s.upper()):
            glyph = _FONT.get(ch, _FONT["?"])
            ox = x + n * 6 * scale
            for gy, row in enumerate(glyph):
                for gx, bit in enumerate(row):
                    if bit == "#":
                        self.rect(ox + gx * scale, y + gy * scale,
                                  ox + (gx + 1) * scale, y + (gy + 1) * scale, color)
        return text_width(s, scale)

    def png(self):
        raw = bytearray()
        stride = self.w * 3
        for y in range(self.h):
            raw.append(0)
            raw += self.px[y * stride:(y + 1) * stride]

        def chunk(kind, data):
            body = kind + data
            return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

        return (b"\x89PNG\r\n\x1a\n"
                + chunk(b"IHDR", struct.pack(">IIBBBBB", self.w, self.h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(bytes(raw), 9))
                + chunk(b"IEND", b""))


def text_width(s, scale=1):
    return max(0, len(s) * 6 * scale - scale)


def _nice_step(span):
    for step in (0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 20, 50):
        if span / step <= 8:
            return step
    return 100


def bar_chart(path, title, groups, series, subtitle="", ref=1.0):
    """Grouped bars, one group per label in groups, one bar per series."""
    values = [v for _, _, vals in series for v in vals if v is not None]
    top = max(values + [ref * 1.25])
    step = _nice_step(top)
    ymax = step * (int(top * 1.12 / step) + 1)

    bar_w, bar_gap, group_gap = 26, 4, 34
    group_w = len(series) * (bar_w + bar_gap) - bar_gap
    label_w = max([text_width(g) for g in groups] + [group_w])
    slot = max(group_w, label_w) + group_gap
    left, right, top_m, bottom = 64, 24, 70 + 14 * len(series), 50
    plot_h = 300
    width = max(left + slot * len(groups) + right, 560)
    height = top_m + plot_h + bottom
    c = Canvas(width, height)

    c.text(left, 10, title, BLACK, 2)
    if subtitle:
        c.text(left, 32, subtitle, DARK)
    for i, (name, color, _) in enumerate(series):
        y = 50 + 14 * i
        c.rect(left, y, left + 10, y + 8, color)
        c.text(left + 16, y + 1, name)

    def ypos(v):
        return top_m + plot_h - v / ymax * plot_h

    tick = 0.0
    while tick <= ymax + 1e-9:
        y = int(round(ypos(tick)))
        c.hline(left, width - right, y, GREY)
        label = f"{tick:g}"
        c.text(left - 8 - text_width(label), y - 3, label, DARK)
        tick += step
    c.rect(left - 1, top_m, left, top_m + plot_h + 1, BLACK)
    c.hline(left, width - right, top_m + plot_h, BLACK)
    y_ref = int(round(ypos(ref)))
    c.hline(left, width - right, y_ref, BLACK, dash=4)

    for gi, group in enumerate(groups):
        gx = left + group_gap // 2 + gi * slot
        bx0 = gx + (slot - group_gap - group_w) // 2
        for si, (_, color, vals) in enumerate(series):
            v = vals[gi]
            bx = bx0 + si * (bar_w + bar_gap)
            if v is None:
                c.text(bx + (bar_w - text_width("N/A")) // 2, top_m + plot_h - 10, "N/A", DARK)
                continue
            y = ypos(min(v, ymax))
            c.rect(bx, y, bx + bar_w, top_m + plot_h, color)
            label = f"{v:.2f}"
            lx0 = bx + (bar_w - text_width(label)) // 2
            c.rect(lx0 - 1, int(y) - 11, lx0 + text_width(label) + 1, int(y) - 2, WHITE)
            c.text(lx0, int(y) - 10, label)
        lx = gx + (slot - group_gap - text_width(group)) // 2
        c.text(lx, top_m + plot_h + 10, group)

    with open(path, "wb") as f:
        f.write(c.png())


if __name__ == "__main__":  # a demo: python3 bench/pngchart.py /tmp/demo.png
    import sys
    bar_chart(sys.argv[1] if len(sys.argv) > 1 else "demo.png", "demo chart",
              ["redis GET", "redis-p16 SET", "mc-mget"],
              [("cachemux / direct (ops/s)", (66, 114, 196), [0.8, 0.5, None]),
               ("cachemux / nutcracker (ops/s)", (237, 125, 49), [1.1, 1.4, 0.9]),
               ("nutcracker / cachemux (CPU s per request)", (112, 173, 71), [1.5, 2.25, 1.0])],
              subtitle="2 cores, 100 connections; 1.0 = equal (dashed line)")
