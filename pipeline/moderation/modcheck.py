#!/usr/bin/env python3
"""Reference matcher + measurement for Parley's curated profanity lists.

This file is the executable specification of the matcher (see README.md).

Usage: python3 modcheck.py [--lists DIR] [--tatoeba DIR] [--hits]
Prints, per language: number of terms, false positives on the clean Tatoeba
sentences, and recall over evasion variants of every kept term.
"""
import os, re, sys, unicodedata, argparse
from pathlib import Path

LATIN_LANGS = ("en", "es", "fr", "de", "pt")
CJK_LANGS = ("ja", "zh")

# ---------------------------------------------------------------- normalize
LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t",
        "@": "a", "$": "s", "!": "i"}
KANA_VOICING = ("\u3099", "\u309a")  # kept: they are part of kana, not accents


def is_latin_letter(c):
    o = ord(c)
    return c.isalpha() and (o < 0x0250 or 0x1E00 <= o <= 0x1EFF)


def is_cjk(c):
    o = ord(c)
    return (0x3040 <= o <= 0x30FF      # hiragana, katakana
            or 0x31F0 <= o <= 0x31FF   # katakana phonetic extensions
            or 0x3400 <= o <= 0x4DBF   # CJK ext A
            or 0x4E00 <= o <= 0x9FFF   # CJK unified
            or 0xF900 <= o <= 0xFAFF   # CJK compatibility
            or 0x20000 <= o <= 0x3FFFF # CJK ext B..
            or 0x3100 <= o <= 0x312F   # bopomofo
            or o in (0x3005, 0x3006, 0x3007, 0x30FC))


def is_wordchar(c):
    return c.isalpha() or c.isdigit()


# a "leet word": maximal run of Latin letters, ASCII digits and @ $ !
_LEET_RUN = re.compile(r"[A-Za-z0-9@$!\u00C0-\u024F\u1E00-\u1EFF]+")


def _leet_word(m):
    w = m.group(0)
    if not any(is_latin_letter(c) for c in w):
        return w                      # pure numbers / symbols stay as they are
    # trailing '!' are punctuation, not leet
    stripped = w.rstrip("!")
    tail = w[len(stripped):]
    return "".join(LEET.get(c, c) for c in stripped) + tail


_SEP = " .\\-_*"
# >=3 single letters separated by exactly one separator, bounded by non-word chars
_SPACED = re.compile(r"(?<![^\W_])[^\W\d_](?:[" + _SEP + r"][^\W\d_]){2,}(?![^\W_])")


def _unspace(m):
    return "".join(c for c in m.group(0) if c not in " .-_*")


def normalize(s):
    s = unicodedata.normalize("NFKC", s)
    s = s.lower()
    s = unicodedata.normalize("NFD", s)
    s = "".join(c for c in s
                if unicodedata.category(c) != "Mn" or c in KANA_VOICING)
    s = unicodedata.normalize("NFC", s)
    s = _LEET_RUN.sub(_leet_word, s)
    s = _SPACED.sub(_unspace, s)
    s = s.replace("\u00df", "ss")          # German sharp s: 'scheiße' == 'scheisse'
    return s


_RUN3 = re.compile(r"([^\W\d_])\1{2,}")


def squeeze_forms(s):
    """Runs of >=3 identical letters -> one letter (primary form) and, as an
    alternative form, -> two letters (so 'asssss' can still match 'ass')."""
    one = _RUN3.sub(r"\1", s)
    two = _RUN3.sub(r"\1\1", s)
    return (one,) if one == two else (one, two)


# ---------------------------------------------------------------- matching
_TOKEN = re.compile(r"[^\W_]+")


def tokens(s):
    return _TOKEN.findall(s)


def _cjk_join(s):
    # drop the katakana middle dot (U+30FB; half-width U+FF65 is NFKC-mapped
    # to it) and remove whitespace that has a CJK/kana char on either side
    s = s.replace("\u30fb", "")
    out = []
    n = len(s)
    i = 0
    while i < n:
        c = s[i]
        if c.isspace():
            j = i
            while j < n and s[j].isspace():
                j += 1
            prev = s[i - 1] if i > 0 else ""
            nxt = s[j] if j < n else ""
            if (prev and is_cjk(prev)) or (nxt and is_cjk(nxt)):
                i = j
                continue
            out.append(s[i:j])
            i = j
            continue
        out.append(c)
        i += 1
    return "".join(out)


class Matcher:
    def __init__(self, lang, terms):
        self.lang = lang
        self.cjk = lang in CJK_LANGS
        self.terms = []  # (original, compiled)
        for t in terms:
            n = squeeze_forms(normalize(t))[0]
            if self.cjk:
                n = _cjk_join(n)
                if len(n) < 2:
                    continue
                self.terms.append((t, n))
            else:
                toks = tokens(n)
                # a term without letters/digits (e.g. an emoji) is matched as
                # a plain substring of the normalized text
                self.terms.append((t, toks if toks else n))

    def _match_tokens(self, ttoks, xtoks):
        k = len(ttoks)
        last = ttoks[-1]
        for i in range(len(xtoks) - k + 1):
            if xtoks[i:i + k - 1] != ttoks[:-1]:
                continue
            x = xtoks[i + k - 1]
            if x == last or (len(last) >= 5 and x.startswith(last)):
                return True
        return False

    def spans(self, text):
        """(term, occurrence spans) for every term found in `text`.
        Latin spans are token index ranges, CJK spans are (form, start, end)
        character ranges in one of the squeezed forms of the joined string."""
        n = normalize(text)
        found = []
        if self.cjk:
            forms = squeeze_forms(_cjk_join(n))
            for orig, t in self.terms:
                occ = []
                for fi, f in enumerate(forms):
                    start = f.find(t)
                    while start >= 0:
                        occ.append((fi, start, start + len(t)))
                        start = f.find(t, start + 1)
                if occ:
                    found.append((orig, occ))
        else:
            # each token is tried with runs>=3 squeezed to 1 and to 2 letters
            toks = tokens(n)
            alts = [squeeze_forms(x) for x in toks]
            for orig, tt in self.terms:
                if isinstance(tt, str):
                    if tt and tt in n:
                        found.append((orig, [None]))
                else:
                    occ = self._match_alt(tt, alts)
                    if occ:
                        found.append((orig, occ))
        return found

    def hits(self, text, safe=None):
        """Terms found in `text`; with a `safe` Matcher, an occurrence that
        lies inside an occurrence of a safe word or phrase is ignored."""
        found = self.spans(text)
        if safe is None or not found:
            return [orig for orig, _ in found]
        shields = [o for _, occ in safe.spans(text) for o in occ if o is not None]

        def shielded(o):
            if o is None:
                return False
            if self.cjk:
                return any(s[0] == o[0] and s[1] <= o[1] and o[2] <= s[2] for s in shields if len(s) == 3)
            return any(len(s) == 2 and s[0] <= o[0] and o[1] <= s[1] for s in shields)

        return [orig for orig, occ in found if not all(shielded(o) for o in occ)]

    def _match_alt(self, ttoks, alts):
        """Token index ranges (start, end) where the term occurs."""
        k = len(ttoks)
        last = ttoks[-1]
        occ = []
        for i in range(len(alts) - k + 1):
            ok = True
            for j in range(k - 1):
                if ttoks[j] not in alts[i + j]:
                    ok = False
                    break
            if not ok:
                continue
            for x in alts[i + k - 1]:
                if x == last or (len(last) >= 5 and x.startswith(last)):
                    occ.append((i, i + k))
                    break
        return occ


# ---------------------------------------------------------------- lists
def load_list(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                # a term may carry notes after " | " (`con | innocent: es it pt`,
                # `dick | innocent: de | name`); only the term is matched here
                term = line.split(" | ")[0].strip()
                if term:
                    out.append(term)
    return out


def load_safe(path, cjk):
    """safe.txt: innocent words/phrases (any language, `# xx` section
    headers are comments). Returns a Matcher over the Latin or CJK ones."""
    if not os.path.exists(path):
        return None
    words = [w for w in load_list(path)
             if any(is_cjk(c) for c in w) == cjk]
    return Matcher("zh" if cjk else "en", words) if words else None


# ---------------------------------------------------------------- variants
LEET_OUT = str.maketrans({"a": "4", "e": "3", "i": "1", "o": "0", "s": "5"})
_H2F = {}
for cp in range(0xFF61, 0xFFA0):
    c = chr(cp)
    _H2F.setdefault(unicodedata.normalize("NFKC", c), c)


def to_halfwidth_kana(s):
    out = []
    for c in s:
        d = unicodedata.normalize("NFD", c)
        if d[0] in _H2F and ("\u30a0" <= c <= "\u30ff"):
            out.append(_H2F[d[0]])
            for m in d[1:]:
                out.append({"\u3099": "\uff9e", "\u309a": "\uff9f"}.get(m, m))
        else:
            out.append(c)
    return "".join(out)


def to_fullwidth(s):
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s)


def repeat_middle(t):
    letters = [i for i, c in enumerate(t) if c.isalpha()]
    if not letters:
        return t
    m = letters[len(letters) // 2]
    return t[:m] + t[m] * 4 + t[m + 1:]


def variants(lang, t):
    v = {"original": t, "upper": t.upper(), "repeat": repeat_middle(t)}
    if lang in CJK_LANGS:
        v["spaced"] = " ".join(t)
        v["width"] = to_fullwidth(to_halfwidth_kana(t))
    else:
        v["leet"] = t.lower().translate(LEET_OUT)
        # spaced letters only make sense for single words of >= 3 letters
        # (the normalizer collapses runs of >= 3 single letters)
        if (len(tokens(t)) == 1 and " " not in t and "-" not in t
                and len(t) >= 3 and t.isalpha()):
            v["spaced"] = " ".join(t)
    return v


def recall(lang, matcher):
    total = ok = 0
    misses = []
    for orig, _ in matcher.terms:
        single = Matcher(lang, [orig])
        for name, v in variants(lang, orig).items():
            text = v if lang in CJK_LANGS else "ok %s ok" % v
            total += 1
            if single.hits(text):
                ok += 1
            else:
                misses.append((orig, name, v))
    return ok, total, misses


TATOEBA = {"es": ["spa-eng.spa"], "fr": ["fra-eng.fra"], "de": ["deu-eng.deu"],
           "pt": ["por-eng.por"], "ja": ["jpn-eng.jpn"], "zh": ["cmn-eng.cmn"],
           "en": ["spa-eng.eng", "fra-eng.eng", "deu-eng.eng", "por-eng.eng",
                  "jpn-eng.eng", "cmn-eng.eng"]}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--lists", default=here)
    ap.add_argument("--tatoeba", default=str(Path(__file__).resolve().parents[1] / "testdata" / "tatoeba"))
    ap.add_argument("--hits", action="store_true", help="print every FP hit and recall miss")
    ap.add_argument("--safe", default=None, help="safe words file (default: LISTS/safe.txt)")
    ap.add_argument("--langs", default=",".join(LATIN_LANGS + CJK_LANGS))
    a = ap.parse_args()
    for lang in a.langs.split(","):
        terms = load_list(os.path.join(a.lists, lang + ".txt"))
        m = Matcher(lang, terms)
        safe = load_safe(a.safe or os.path.join(a.lists, "safe.txt"), lang in CJK_LANGS)
        lines = []
        for fn in TATOEBA[lang]:
            with open(os.path.join(a.tatoeba, fn), encoding="utf-8") as f:
                lines += [l.rstrip("\n") for l in f if l.strip()]
        fp = 0
        for l in lines:
            h = m.hits(l, safe)
            if h:
                fp += 1
                if a.hits:
                    print("  FP %s: %s  <- %s" % (lang, l, h))
        ok, total, misses = recall(lang, m)
        if a.hits:
            for mi in misses:
                print("  MISS %s: %r %s %r" % ((lang,) + mi))
        print("%s: terms=%d  FP=%d/%d (%.2f%%)  recall=%d/%d (%.1f%%)" % (
            lang, len(m.terms), fp, len(lines), 100.0 * fp / len(lines),
            ok, total, 100.0 * ok / total))


if __name__ == "__main__":
    main()
