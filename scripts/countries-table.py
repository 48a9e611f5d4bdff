#!/usr/bin/env python3
"""Builds crates/model/data/countries.tsv: ISO 3166-1 alpha-2 codes and the
English names people use for them, from Debian's iso-codes (the common name
where it has one, "Iran" rather than "Iran, Islamic Republic of"; otherwise
its name, "United Kingdom").

Usage (needs Debian's iso-codes):
    python3 scripts/countries-table.py > crates/model/data/countries.tsv
"""
import json

SOURCE = "/usr/share/iso-codes/json/iso_3166-1.json"

with open(SOURCE, encoding="utf-8") as f:
    countries = json.load(f)["3166-1"]
print("# code\tEnglish name (scripts/countries-table.py, from Debian's iso-codes)")
for c in sorted(countries, key=lambda c: c["alpha_2"]):
    print(f"{c['alpha_2']}\t{c.get('common_name', c['name'])}")
