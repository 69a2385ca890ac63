"""Builds it nl ru uk pl tr ko ar hi .txt from LDNOOBW (npm naughty-words 1.2.0)
and the decisions under curation/more/, and prints the checks used while
curating (cross-language "innocent" candidates, ordinary words a term
prefix-matches, recall over evasion variants). See notes-more.md.

  python3 -m venv /tmp/wfx && /tmp/wfx/bin/pip install wordfreq regex
  (cd /tmp && npm install naughty-words@1.2.0)
  /tmp/wfx/bin/python build_more.py [--write] [langs...]

safe.txt and address.txt sections were appended once from more/safe/*.txt
and by hand; this script does not touch those shared files.
"""
import json, sys, os, re, math, collections
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import refmatch as ref
MORE = os.path.join(HERE, "more")
NW = os.environ.get("NAUGHTY_WORDS", "/tmp/node_modules/naughty-words")
import wordfreq
WF = {l: sorted(wordfreq.get_frequency_dict(l).items(), key=lambda x: -x[1])[:50000]
      for l in "it nl ru uk pl tr ko ar hi en es fr de pt".split()}
LATIN = ["en","es","fr","de","pt","it","nl","pl","tr"]
NAMES = {"it":"Italian","nl":"Dutch","ru":"Russian","uk":"Ukrainian","pl":"Polish","tr":"Turkish","ko":"Korean","ar":"Arabic","hi":"Hindi"}

def zipf(f): return math.log10(f) + 9

_normwf = {}
def normwf(lang):
    """normalized single-token word -> max frequency, for the top 50k of lang"""
    if lang not in _normwf:
        d = {}
        for w, f in WF[lang]:
            k = ref.term_key(w)
            if k[0] == "W" and len(k[1]) == 1:
                x = k[1][0]
            elif k[0] == "S":
                x = k[1]
            else:
                continue
            d[x] = max(d.get(x, 0), f)
        _normwf[lang] = d
    return _normwf[lang]

def load_lines(p):
    if not os.path.exists(p): return []
    out = []
    for l in open(p, encoding="utf-8"):
        l = l.rstrip("\n")
        if not l.strip() or l.startswith("#"): continue
        out.append(l.strip())
    return out

def is_latin_key(k):
    return k[0] == "W" and all(all(ref.is_latin(c) or c.isdigit() for c in t) for t in k[1])

def hits_word(k, x):
    """term key k (single token) hits normalized word x"""
    if k[0] == "S": return k[1] in x
    t = k[1][0]
    return x == t or (len(t) >= 5 and x.startswith(t))

def build(lang, write=False, verbose=True):
    src = json.load(open(f"{NW}/{lang}.json")) if os.path.exists(f"{NW}/{lang}.json") else []
    src = [s.strip() for s in src]
    rm = {}
    for l in load_lines(os.path.join(MORE, "rm", lang + ".txt")):
        code, term = l.split("\t")
        rm[term.strip()] = code
    missing = [t for t in rm if t not in src]
    if missing: print("NOT IN SOURCE", lang, missing)
    adds = load_lines(os.path.join(MORE, "add", lang + ".txt"))
    # entries: (term, origin)
    seen = {}; entries = []; removed = collections.defaultdict(list)
    for t in src:
        if t in rm: removed[rm[t]].append(t); continue
        k = ref.term_key(t)
        if k in seen: removed["D"].append(t); continue
        seen[k] = t; entries.append([t, "src", k])
    dup_adds = []
    for t in adds:
        k = ref.term_key(t)
        if k in seen: dup_adds.append(t); continue
        seen[k] = t; entries.append([t, "add", k])
    # redundancy: term T covered by another term S (S matches T's own text)
    red = []
    for e in entries:
        for s in entries:
            if s is e: continue
            if s[2] == e[2]: continue
            if ref.matches(s[0], e[0]):
                red.append((e, s)); break
    redset = set(id(e) for e, s in red)
    final = [e for e in entries if id(e) not in redset]
    for e, s in red:
        if e[1] == "src": removed["R"].append(f"{e[0]} (⊂ {s[0]})")
    red_adds = [f"{e[0]} (⊂ {s[0]})" for e, s in red if e[1] == "add"]
    # innocence annotations
    notes = {}
    for e in final:
        t, o, k = e
        inn = []
        others = []
        if is_latin_key(k):
            others = [l for l in LATIN if l != lang]
        elif lang in ("ru", "uk"):
            others = ["uk" if lang == "ru" else "ru"]
        if k[0] == "W":
            last = k[1][-1]
            for L in others:
                nw = normwf(L)
                if len(k[1]) == 1:
                    ws = [(w, f) for w, f in nw.items() if zipf(f) >= 3 and hits_word(k, w)]
                else:
                    # phrase: ordinary phrase if all tokens common? check the exact tokens
                    ws = []
                if ws:
                    inn.append(L)
                    notes.setdefault(t, {})[L] = sorted(ws, key=lambda x: -x[1])[:6]
        e.append(inn)
    # own-language collisions
    own = normwf(lang)
    coll = {}
    for t, o, k, inn in final:
        if k[0] == "S":
            ws = [(w, f) for w, f in own.items() if k[1] in w and w != k[1]]
        elif len(k[1]) == 1:
            last = k[1][0]
            ws = [(w, f) for w, f in own.items() if w != last and len(last) >= 5 and w.startswith(last)]
            if last in own: ws.append(("=" + last, own[last]))
        else:
            last = k[1][-1]
            ws = []
        if ws: coll[t] = sorted(ws, key=lambda x: -x[1])[:12]
    if verbose:
        print(f"== {lang}: source {len(src)}, removed {sum(len(v) for v in removed.values())}, final {len(final)} "
              f"(src {sum(1 for e in final if e[1]=='src')}, add {sum(1 for e in final if e[1]=='add')})")
        if dup_adds: print("dup adds:", dup_adds)
        if red_adds: print("redundant adds:", red_adds)
        for c, v in removed.items(): print(" removed", c, len(v), " | ".join(v))
    res = dict(lang=lang, src=src, removed=removed, final=final, notes=notes, coll=coll, dup_adds=dup_adds, red_adds=red_adds)
    return res

def show_checks(res, only_new=True):
    print("-- innocence:")
    for t, d in res["notes"].items():
        print("  ", t, {L: [(w, round(zipf(f),1)) for w, f in ws] for L, ws in d.items()})
    print("-- own-language collisions:")
    for t, ws in res["coll"].items():
        print("  ", t, [(w, round(zipf(f),1)) for w, f in ws])


def deep(lang, minz=2.0, per=15):
    import wordfreq
    r = build(lang, verbose=False)
    fd = wordfreq.get_frequency_dict(lang)
    words = [(w, f) for w, f in fd.items() if zipf(f) >= minz]
    nk = []
    for w, f in words:
        k = ref.term_key(w)
        if k[0] == "S": nk.append((k[1], w, f))
        elif len(k[1]) == 1: nk.append((k[1][0], w, f))
    for t, o, k, inn in r["final"]:
        if k[0] == "S":
            ws = [(w, f) for x, w, f in nk if k[1] in x and x != k[1]]
        elif len(k[1][-1]) >= 5:
            last = k[1][-1]
            ws = [(w, f) for x, w, f in nk if x.startswith(last) and x != last] if len(k[1]) == 1 else []
        else:
            ws = []
        if ws:
            ws.sort(key=lambda x: -x[1])
            print(" ", t, "->", ", ".join(f"{w}:{zipf(f):.1f}" for w, f in ws[:per]), ("(+%d)" % (len(ws) - per)) if len(ws) > per else "")

HDR_SRC = """# Parley moderation list: {name} ({lang})
# Source: LDNOOBW "List of Dirty, Naughty, Obscene and Otherwise Bad Words"
#   via the npm package naughty-words 1.2.0 ({lang}.json),
#   https://github.com/LDNOOBW/List-of-Dirty-Naughty-Obscene-and-Otherwise-Bad-Words
# Licence: CC-BY-4.0 (https://creativecommons.org/licenses/by/4.0/)
#   Copyright (c) Shutterstock and the LDNOOBW contributors.
# Curated for Parley: removed entries that are not profanity/slurs/sexual
#   insults in chat (e.g. neutral words), added common missing ones.
#   See README.md for the matcher and curation/notes-more.md for the
#   removed entries, the additions and the known limits.
# Format: UTF-8, one term per line, '#' starts a comment line;
#   "term | innocent: xx yy" = the same word is ordinary in language xx, yy.
"""
HDR_NOSRC = """# Parley moderation list: {name} ({lang})
# Source: compiled for Parley (LDNOOBW / npm naughty-words 1.2.0 has no
#   {name} list); terms written from common usage, released under the same
#   licence as the other lists: CC-BY-4.0
#   (https://creativecommons.org/licenses/by/4.0/).
#   See README.md for the matcher and curation/notes-more.md for the
#   additions and the known limits.
# Format: UTF-8, one term per line, '#' starts a comment line;
#   "term | innocent: xx yy" = the same word is ordinary in language xx, yy.
"""

def load_inn(lang):
    d = {}
    for l in load_lines(os.path.join(MORE, "inn", lang + ".txt")):
        t, langs = l.split("\t")
        d[t] = langs.split()
    return d

def render(lang):
    r = build(lang, verbose=False)
    inn = load_inn(lang)
    finals = {e[0] for e in r["final"]}
    for t in inn:
        if t not in finals: print("INN for missing term", lang, t)
    # every automatic candidate must be decided (annotated or acknowledged)
    hdr = (HDR_SRC if r["src"] else HDR_NOSRC).format(name=NAMES[lang], lang=lang)
    out = [hdr, "# --- from LDNOOBW (kept) ---"]
    if not r["src"]: out.append("# (none: LDNOOBW has no %s list)" % NAMES[lang])
    extra = {}
    for l in load_lines(os.path.join(MORE, "extra", lang + ".txt")):
        t, note = l.split("\t")
        extra.setdefault(t, []).append(note)
    for t in extra:
        if t not in finals: print("EXTRA for missing term", lang, t)
    def line(t):
        return t + (" | innocent: " + " ".join(inn[t]) if t in inn else "") + "".join(" | " + n for n in extra.get(t, []))
    for e in r["final"]:
        if e[1] == "src": out.append(line(e[0]))
    out.append("")
    out.append("# --- added for Parley ---")
    for e in r["final"]:
        if e[1] == "add": out.append(line(e[0]))
    return "\n".join(out) + "\n", r

def recall(lang, r):
    sys.path.insert(0, os.path.dirname(HERE))
    import modcheck
    miss = []; total = 0
    for t, o, k, _ in r["final"]:
        vs = {"original": t, "upper": t.upper(), "repeat": modcheck.repeat_middle(t)}
        vs["leet"] = t.lower().translate(modcheck.LEET_OUT)
        if len(t.split()) == 1 and len(t) >= 3 and all(c.isalpha() for c in t):
            vs["spaced"] = " ".join(t)
        for name, v in vs.items():
            total += 1
            if not ref.matches(t, "ok %s ok" % v if k[0] == "W" else v):
                miss.append((t, name, v))
    return total, miss


if __name__ == "__main__":
    args = sys.argv[1:]
    write = "--write" in args
    langs = [a for a in args if not a.startswith("--")] or list(NAMES)
    for lang in langs:
        txt, r = render(lang)
        show_checks(build(lang))
        total, miss = recall(lang, r)
        print(f"{lang}: {len(r['final'])} terms, recall {total - len(miss)}/{total}", [m[2] for m in miss])
        if write:
            open(os.path.join(os.path.dirname(HERE), lang + ".txt"), "w", encoding="utf-8").write(txt)
