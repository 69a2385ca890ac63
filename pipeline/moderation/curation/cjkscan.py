#!/usr/bin/env python3
"""Look for innocent words that contain a ja/zh term (curation aid, see notes-cjk.md).

    python3 -m venv /tmp/wfcjk && /tmp/wfcjk/bin/pip install wordfreq opencc
    /tmp/wfcjk/bin/python curation/cjkscan.py ja            # words containing each term
    /tmp/wfcjk/bin/python curation/cjkscan.py zh --pairs    # + joins of two frequent words
    /tmp/wfcjk/bin/python curation/cjkscan.py zh --corpus FILE [FILE...]   # hits in a text file

For every CJK term of LANG.txt it prints the wordfreq words (most frequent
first) that contain it; `~` marks a word the list does not flag (covered by
safe.txt, or, for a traditional term, a simplified word). --pairs also joins a frequent word ending with the start of the
term to a frequent word starting with its rest (the matcher ignores word
boundaries: 我 + 靠近 -> 我靠近, ライブ + ストーリー -> ライブストーリー) and
lists the joins safe.txt does not cover yet; most are nonsense, read them and
add the plausible ones. --corpus prints the lines of plain-text files that
the list flags (after safe.txt), grouped by term. Romanised terms are matched
as Latin words (CJK characters split words), as the Rust matcher does.
Traditional terms are looked up in their simplified form (wordfreq's zh is
simplified); add the traditional forms of new safe words too.
"""
import argparse, collections, os, sys, unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
MOD = os.path.dirname(HERE)
sys.path.insert(0, MOD)
import modcheck as mc  # noqa: E402


def key(t):
    return mc._cjk_join(mc.squeeze_forms(mc.normalize(t))[0])


def is_latin(t):
    n = mc.normalize(t)
    return not any(mc.is_cjk(c) for c in n) and any(c.isalnum() for c in n)


class Lists:
    def __init__(self, lang):
        self.terms = mc.load_list(os.path.join(MOD, lang + ".txt"))
        self.cjk = [(t, key(t)) for t in self.terms if not is_latin(t) and len(key(t)) >= 2]
        latin = [t for t in self.terms if is_latin(t)]
        self.latin = mc.Matcher("en", latin) if latin else None
        safe = mc.load_list(os.path.join(MOD, "safe.txt"))
        self.safe = sorted({key(s) for s in safe if any(mc.is_cjk(c) for c in s)})

    @staticmethod
    def _occ(s, t):
        i = s.find(t)
        while i >= 0:
            yield i, i + len(t)
            i = s.find(t, i + 1)

    def uncovered(self, text, k):
        """Whether the term key `k` occurs in `text` outside every safe word."""
        f = key(text)
        shields = [o for s in self.safe if s in f for o in self._occ(f, s)]
        return any(not any(a <= x and y <= b for a, b in shields) for x, y in self._occ(f, k))

    def hits(self, text):
        found = []
        for f in mc.squeeze_forms(mc._cjk_join(mc.normalize(text))):
            shields = [o for s in self.safe if s in f for o in self._occ(f, s)]
            for orig, k in self.cjk:
                if orig not in found and any(not any(a <= x and y <= b for a, b in shields)
                                             for x, y in self._occ(f, k)):
                    found.append(orig)
        if self.latin:
            nfkc = unicodedata.normalize("NFKC", text)
            found += [h for h in self.latin.hits("".join(" " if mc.is_cjk(c) else c for c in nfkc))
                      if h not in found]
        return found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("lang", choices=["ja", "zh"])
    ap.add_argument("--top", type=int, default=100000, help="wordfreq words to scan")
    ap.add_argument("--pairs", action="store_true")
    ap.add_argument("--corpus", nargs="+")
    a = ap.parse_args()
    lists = Lists(a.lang)
    if a.corpus:
        by = collections.defaultdict(list)
        n = total = 0
        for fn in a.corpus:
            for line in open(fn, encoding="utf-8"):
                total += 1
                h = lists.hits(line)
                n += bool(h)
                for t in h:
                    by[t].append(line.strip())
        print("lines %d, flagged %d" % (total, n))
        for t, ls in sorted(by.items(), key=lambda x: -len(x[1])):
            print("== %s (%d)" % (t, len(ls)))
            for line in ls[:5]:
                print("    " + line[:100])
        return
    import wordfreq
    try:
        import opencc
        t2s = opencc.OpenCC("t2s").convert
    except ImportError:
        t2s = lambda s: s  # noqa: E731
    freq = wordfreq.get_frequency_dict(a.lang)
    words = sorted(freq, key=lambda w: -freq[w])[:a.top]
    keyed = [(key(w), w) for w in words]
    termkeys = {k for _, k in lists.cjk}
    frequent = [(k, w) for k, w in keyed[:40000]]
    for orig, k in lists.cjk:
        ks = {k, t2s(k)} if a.lang == "zh" else {k}
        hits = [w for wk, w in keyed if wk not in termkeys and any(x in wk for x in ks)]
        print("=== %s  (%d words)" % (orig, len(hits)))
        if hits:
            print("  " + "  ".join(w if orig in lists.hits(w) else "~" + w for w in hits[:60]))
        if a.pairs:
            kk = t2s(k) if a.lang == "zh" else k
            joins = []
            for i in range(1, len(kk)):
                left = [w for wk, w in frequent if wk.endswith(kk[:i]) and kk not in wk][:60]
                right = [w for wk, w in frequent if wk.startswith(kk[i:]) and kk not in wk][:60]
                for wl in left:
                    for wr in right:
                        if lists.uncovered(wl + wr, kk):
                            joins.append((freq[wl] * freq[wr], wl + wr))
            joins.sort(reverse=True)
            if joins:
                print("  joins: " + "  ".join(j for _, j in joins[:30]))


if __name__ == "__main__":
    main()
