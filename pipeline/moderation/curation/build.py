import json, sys, os
sys.path.insert(0, "/work/main/pipeline/moderation")
sys.path.insert(0, "/tmp/cur")
import importlib, modcheck, decisions
importlib.reload(decisions)
from decisions import R, REMOVE, ADD
OUT = "/work/main/pipeline/moderation"
NAMES = {"en":"English","es":"Spanish","fr":"French","de":"German","pt":"Portuguese","ja":"Japanese","zh":"Chinese"}
HDR = """# Parley moderation list: {name} ({lang})
# Source: LDNOOBW "List of Dirty, Naughty, Obscene and Otherwise Bad Words"
#   via the npm package naughty-words 1.2.0 ({lang}.json),
#   https://github.com/LDNOOBW/List-of-Dirty-Naughty-Obscene-and-Otherwise-Bad-Words
# Licence: CC-BY-4.0 (https://creativecommons.org/licenses/by/4.0/)
#   Copyright (c) Shutterstock and the LDNOOBW contributors.
# Curated for Parley: removed entries that are not profanity/slurs/sexual
#   insults in chat (e.g. neutral words), added common missing ones.
#   See README.md for the curation rules, the removed entries and the matcher.
# Format: UTF-8, one term per line, '#' starts a comment line.
"""
def key(lang, t):
    n = modcheck.squeeze_forms(modcheck.normalize(t))[0]
    if lang in modcheck.CJK_LANGS:
        return modcheck._cjk_join(n)
    return " ".join(modcheck.tokens(n)) or n
stats = {}
for lang in ["en","es","fr","de","pt","ja","zh"]:
    src = json.load(open("/tmp/nw/package/%s.json" % lang))
    rem = REMOVE.get(lang, {})
    missing = [r for r in rem if r not in src]
    if missing: print("NOT IN SOURCE", lang, missing)
    kept, seen, dup = [], set(), []
    for t in src:
        if t in rem: continue
        k = key(lang, t)
        if k in seen: dup.append(t); continue
        seen.add(k); kept.append(t)
    added, redundant = [], []
    for a in ADD.get(lang, []):
        k = key(lang, a)
        if k in seen: redundant.append(a); continue
        seen.add(k); added.append(a)
    if dup: print("dup in source", lang, dup)
    if redundant: print("redundant adds", lang, redundant)
    with open(os.path.join(OUT, lang + ".txt"), "w", encoding="utf-8") as f:
        f.write(HDR.format(name=NAMES[lang], lang=lang))
        f.write("\n# --- from LDNOOBW (kept) ---\n")
        for t in kept: f.write(t + "\n")
        f.write("\n# --- added for Parley ---\n")
        for t in added: f.write(t + "\n")
    stats[lang] = dict(source=len(src), kept=len(kept), removed=len(rem), dupes=len(dup), added=len(added), total=len(kept)+len(added))
    print(lang, stats[lang])
json.dump(stats, open("/tmp/cur/stats.json","w"))
