"""The bill's UPI QR code: the same modules as ReportLab's encoder, chosen much faster.

ReportLab's ``qrencoder`` picks the mask (one of eight) by laying the whole symbol out
eight times and scoring each layout with list-walking Python: a fifth of the time of a
bill page went there. Here what every symbol of a version shares (its function patterns,
the places of its data modules, what each mask flips) is made once, each row is an
integer, a mask is an exclusive-or, and the four penalty rules are scored with string and
integer operations. The scores are ReportLab's, quirks included (the finder-like pattern
is looked for in rows only, and not where it would end on the last column), so the mask
chosen and every module are ReportLab's; its own code writes the format and version
bits. The Reed-Solomon codewords are worked on integers too (ReportLab divides
polynomial objects and makes each block's generator anew). A property test compares the
modules with ReportLab's on random texts. The rows go straight to the image's pixels.
"""

from __future__ import annotations

from functools import cache
from itertools import pairwise, zip_longest

from PIL import Image as PILImage
from reportlab.graphics.barcode import qrencoder

QR_QUIET_MODULES = 4
QR_PIXELS_PER_MODULE = 4  # 4 px a module: sharp when a viewer smooths, a fourth the pixels of 8
MASKS = 8
_FINDER = "10111010000"  # rule 3: the finder-like pattern ReportLab looks for


def qr_matrix(text: str) -> list[list[bool]]:
    """The QR code's modules (True is dark), error correction M, smallest version."""
    size, rows = _rows(text)
    return [[bool(row >> (size - 1 - c) & 1) for c in range(size)] for row in rows]


def qr_image(text: str) -> PILImage.Image:
    """The QR code as a greyscale image (black and white) with its quiet zone, each
    module a square of pixels, crisp at any print size: greyscale, since the PDF stores it
    as one byte a pixel, a third of RGB. The canvas stores the pixels itself (no PNG is
    encoded and decoded on the way)."""
    size, rows = _rows(text)
    quiet = "0" * QR_QUIET_MODULES
    width = size + 2 * QR_QUIET_MODULES
    light = "0" * width
    lines = [light] * QR_QUIET_MODULES
    lines += [quiet + format(row, f"0{size}b") + quiet for row in rows]
    lines += [light] * QR_QUIET_MODULES
    pixels = "".join(lines).encode("ascii").translate(_GREY)
    image = PILImage.frombytes("L", (width, width), pixels)
    scale = QR_PIXELS_PER_MODULE
    return image.resize((width * scale, width * scale), PILImage.Resampling.NEAREST)


_GREY = bytes.maketrans(b"01", b"\xff\x00")  # a light module white, a dark one black


def _rows(text: str) -> tuple[int, list[int]]:
    """The symbol's size and its rows as integers (the highest bit the first module)."""
    level = qrencoder.QRErrorCorrectLevel.M
    code = qrencoder.QRCode(None, level)
    code.addData(text)
    code.version = code.calculate_version()
    size = code.moduleCount = code.version * 4 + 17
    fixed, positions, data, flips = _layout(code.version)
    plain = list(fixed)  # the data unmasked; modules past the data stay light
    codewords = _codewords(code.version, level, code.dataList)
    bits = (byte & (0x80 >> i) for byte in codewords for i in range(8))
    for (col, row), dark in zip(positions, bits, strict=False):
        if dark:
            plain[row] |= 1 << (size - 1 - col)
    scores = [
        _penalty([row ^ (data[r] & f[r]) for r, row in enumerate(plain)], size) for f in flips
    ]
    best = scores.index(min(scores))  # ReportLab keeps the first lowest
    rows = [row ^ (data[r] & flips[best][r]) for r, row in enumerate(plain)]
    code.modules = [[None] * size for _ in range(size)]  # ReportLab writes the format bits
    code.setupTypeInfo(False, best)
    if code.version >= 7:
        code.setupTypeNumber(False)
    for r, line in enumerate(code.modules):
        for c, cell in enumerate(line):
            if cell is not None:
                bit = 1 << (size - 1 - c)
                rows[r] = rows[r] | bit if cell else rows[r] & ~bit
    return size, rows


def _codewords(version: int, level: int, data_list: list[object]) -> list[int]:
    """The symbol's codewords, data and error correction interleaved, as ReportLab's
    ``QRCode.createData`` makes them; its Reed-Solomon division (list-walking polynomial
    objects, the generator made anew for every block) took most of a page's QR time, so
    the remainders are worked here on integers, with the generators made once."""
    blocks = qrencoder.QRRSBlock.getRSBlocks(version, level)
    buffer = qrencoder.QRBitBuffer()
    for data in data_list:
        data.write(buffer, version)  # type: ignore[attr-defined]
    capacity = sum(block.dataCount for block in blocks) * 8
    if buffer.getLengthInBits() > capacity:
        raise ValueError(f"code length overflow ({buffer.getLengthInBits()} > {capacity})")
    if buffer.getLengthInBits() + 4 <= capacity:
        buffer.put(0, 4)  # the end code
    while buffer.getLengthInBits() % 8:
        buffer.putBit(False)
    pads, pad = (qrencoder.QRCode.PAD0, qrencoder.QRCode.PAD1), 0
    while buffer.getLengthInBits() < capacity:  # pad bytes, alternating
        buffer.put(pads[pad], 8)
        pad ^= 1
    data_blocks, ec_blocks, offset = [], [], 0
    for block in blocks:
        words = buffer.buffer[offset : offset + block.dataCount]
        offset += block.dataCount
        data_blocks.append(words)
        ec_blocks.append(_remainder(words, block.totalCount - block.dataCount))
    return [
        word
        for group in (data_blocks, ec_blocks)
        for column in zip_longest(*group)
        for word in column
        if word is not None
    ]


@cache
def _generator(count: int) -> tuple[int, ...]:
    """The logarithms of the Reed-Solomon generator's coefficients after the leading 1."""
    poly = qrencoder.QRUtil.getErrorCorrectPolynomial(count).num
    return tuple(qrencoder.QRMath.glog(c) for c in poly[1:])


def _remainder(words: list[int], count: int) -> list[int]:
    """The ``count`` error correction codewords of ``words``: the remainder of the data
    polynomial times x^count divided by the generator, in GF(256)."""
    exp, log = qrencoder.EXP_TABLE, qrencoder.LOG_TABLE
    generator = _generator(count)
    rest = [0] * count
    for word in words:
        factor = word ^ rest[0]
        rest = rest[1:]
        rest.append(0)
        if factor:
            shift = log[factor]
            rest = [r ^ exp[(shift + g) % 255] for r, g in zip(rest, generator, strict=True)]
    return rest


def _bits(row: list[bool]) -> int:
    """A row as an integer whose highest bit is its first module."""
    value = 0
    for cell in row:
        value = (value << 1) | bool(cell)
    return value


@cache
def _layout(version: int) -> tuple[list[int], list[tuple[int, int]], list[int], list[list[int]]]:
    """What every symbol of ``version`` shares, made once: per row, its function patterns
    (format areas light, as when masks are scored), the data modules' places in filling
    order, per row the data modules, and per mask the modules it flips."""
    code = qrencoder.QRCode(version, qrencoder.QRErrorCorrectLevel.M)
    code.addData("")
    code.makeImpl(True, 0)
    size = code.moduleCount
    positions = list(code.dataPosIterator())
    data = [0] * size
    for col, row in positions:
        data[row] |= 1 << (size - 1 - col)
    fixed = [_bits(row) & ~data[r] for r, row in enumerate(code.modules)]
    flips = []
    for mask in range(MASKS):
        flip = qrencoder.QRUtil.getMask(mask)
        flips.append(
            [sum(1 << (size - 1 - c) for c in range(size) if flip(r, c)) for r in range(size)]
        )
    return fixed, positions, data, flips


def _penalty(rows: list[int], size: int) -> int:
    """ReportLab's score of a layout (``QRUtil.getLostPoint``): lower is better."""
    lines = [format(row, f"0{size}b") for row in rows]
    columns = ["".join(column) for column in zip(*lines, strict=True)]
    ends = (1 << (size - 1)) - 1  # a bit for each pair of neighbouring modules
    score = sum(_runs(row, ends) for row in rows)  # rule 1: a run of n ≥ 5 scores n - 2
    score += sum(_runs(int(column, 2), ends) for column in columns)
    score += 40 * sum(_finders(line) for line in lines)  # rule 3, rows only (as ReportLab)
    full = (1 << size) - 1
    pairs = full >> 1
    for upper, lower in pairwise(rows):  # rule 2: 3 for each 2×2 block
        same = ~(upper ^ lower) & full
        level = ~(upper ^ (upper >> 1)) & pairs
        score += 3 * (same & (same >> 1) & level).bit_count()
    dark = sum(row.bit_count() for row in rows)  # rule 4: the balance of dark and light
    return score + 10 * (abs(100 * dark // (size * size) - 50) // 5)


def _runs(line: int, ends: int) -> int:
    """Rule 1 on one line (an integer, a bit a module): n - 2 for each run of n ≥ 5
    modules of one colour. ``same`` marks each module equal to its neighbour; ``five``
    the starts of five equal modules, n - 4 of them in a run of n; each run's last start
    is where ``five`` ends: (n - 4) + 2 is n - 2."""
    same = ~(line ^ (line >> 1)) & ends
    five = same & (same >> 1) & (same >> 2) & (same >> 3)
    return five.bit_count() + 2 * (five & ~(five >> 1)).bit_count()


def _finders(line: str) -> int:
    """Non-overlapping finder-like patterns from the left, as ReportLab counts them: one
    starting at the last possible column is missed."""
    count, start, end = 0, 0, len(line) - 1
    while (found := line.find(_FINDER, start, end)) >= 0:
        count += 1
        start = found + len(_FINDER)
    return count
