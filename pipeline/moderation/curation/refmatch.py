"""Python model of the Rust matcher (pipeline/src/moderate/normalize.rs + lists.rs),
used by build_more.py to check the lists. Needs the PyPI package `regex`."""
import re, unicodedata, sys
import regex

LOOK = {'а':'a','в':'b','е':'e','ё':'e','є':'e','і':'i','ї':'i','ј':'j','к':'k','м':'m','н':'h','о':'o',
        'р':'p','с':'c','т':'t','у':'y','х':'x','ѕ':'s','ԁ':'d','ӏ':'l','ԛ':'q','ԝ':'w',
        'α':'a','β':'b','ε':'e','η':'n','ι':'i','κ':'k','ν':'v','ο':'o','ρ':'p','τ':'t','υ':'u',
        'χ':'x','ω':'w','ς':'c','ı':'i','ɑ':'a','ɡ':'g','ɩ':'i','ʟ':'l'}
INVIS = set([0x00AD,0x034F,0x061C,0x115F,0x1160,0x17B4,0x17B5,0x3164,0xFEFF,0xFFA0] + list(range(0x180B,0x1810))
            + list(range(0x200B,0x2010)) + list(range(0x202A,0x202F)) + list(range(0x2060,0x2070)) + list(range(0xFE00,0xFE10)))
def is_invisible(c): o = ord(c); return o in INVIS or 0xE0000 <= o <= 0xE007F
def is_latin(c): o = ord(c); return o <= 0x24F or 0x1E00 <= o <= 0x1EFF
def is_cjk(c):
    o = ord(c)
    return (0x3040<=o<=0x30FF or 0x3400<=o<=0x4DBF or 0x4E00<=o<=0x9FFF or 0xF900<=o<=0xFAFF or 0xAC00<=o<=0xD7AF
            or 0x1100<=o<=0x11FF or 0x3130<=o<=0x318F or 0x31F0<=o<=0x31FF or 0xFF66<=o<=0xFF9F or 0x20000<=o<=0x2FA1F)
is_hangul = is_cjk
_ALNUM = regex.compile(r"[\p{Alphabetic}\p{N}]")
def is_alnum(c): return bool(_ALNUM.match(c))
def is_alpha(c): return bool(regex.match(r"\p{Alphabetic}", c))
def is_mark(c): return unicodedata.category(c) in ("Mn", "Mc", "Me")

def fold(text):
    out = []
    i = 0; n = len(text)
    while i < n:
        c = text[i]; i += 1
        if is_invisible(c): continue
        cl = c
        while i < n:
            d = text[i]
            if is_invisible(d): i += 1
            elif is_mark(d) or d in "\uFF9E\uFF9F": cl += d; i += 1
            else: break
        for k in unicodedata.normalize("NFKC", cl).lower():
            k = LOOK.get(k, k)
            if k == "ß": out += ["s", "s"]
            elif is_latin(k):
                for d in unicodedata.normalize("NFD", k):
                    if not is_mark(d): out.append(LOOK.get(d, d))
            elif k == "\u30FB" or is_invisible(k): pass
            else: out.append(k)
    return out

LEET = {'0':'o','1':'i','3':'e','4':'a','5':'s','7':'t','8':'b','9':'g','@':'a','$':'s','€':'e','¢':'c','!':'i','|':'l'}
def is_word_char(c): return (is_alnum(c) and not is_cjk(c)) or c in "@$€¢"

def shrink(w, keep):
    return re.sub(r"(.)\1{2,}", lambda m: m.group(1) * keep, w)

def words(text):
    f = fold(text)
    n = len(f)
    inside = [is_word_char(c) for c in f]
    i = 0
    while i < n:
        if f[i] in "!|*":
            s = i
            while i < n and f[i] in "!|*": i += 1
            if s > 0 and i < n and inside[s - 1] and is_word_char(f[i]):
                for j in range(s, i): inside[j] = True
        else: i += 1
    raw = []
    i = 0
    while i < n:
        if not inside[i]: i += 1; continue
        s = i
        while i < n and inside[i]: i += 1
        raw.append("".join(f[s:i]))
    toks = []
    for w in raw:
        if any(is_alpha(c) for c in w): w = "".join(LEET.get(c, c) for c in w)
        if any(is_alnum(c) for c in w): toks.append(w)
    # spelled-out joining (approximation: single letters separated by spaces in the raw text)
    out = []; i = 0
    while i < len(toks):
        j = i
        while j < len(toks) and len(toks[j]) == 1 and is_alpha(toks[j]): j += 1
        if j - i >= 3: out.append("".join(toks[i:j])); i = j
        else: out.append(toks[i]); i += 1
    return out

def tokens(s):  # words of an already-normalised string
    return words(s)

def normalize(s):
    return "".join(fold(s))

def squeeze1(s): return shrink(s, 1)

def string_form(text):
    return "".join(c for c in fold(text) if not c.isspace())

def term_key(t):
    if any(is_cjk(c) for c in t) or not any(c.isalnum() for c in t):
        return ("S", shrink(string_form(t), 1))
    return ("W", tuple(shrink(w, 1) for w in words(t)))

def matches(term, text):
    kind, k = term_key(term)
    if kind == "S":
        s = string_form(text)
        return k in shrink(s, 1) or k in shrink(s, 2)
    toks = [(shrink(w, 1), shrink(w, 2)) for w in words(text)]
    kk = len(k); last = k[-1]
    for i in range(len(toks) - kk + 1):
        if all(k[j] in toks[i + j] for j in range(kk - 1)):
            for x in toks[i + kk - 1]:
                if x == last or (len(last) >= 5 and x.startswith(last)):
                    return True
    return False
