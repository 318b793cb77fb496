#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
#
# Checks that libtroc.so exports exactly the functions declared in troc.h:
# nothing of the engine's insides leaks into the installed library, and no
# public function is forgotten in libtroc.map.
#   check_libtroc_exports.py LIBTROC.so troc.h
import re
import subprocess
import sys

library, header = sys.argv[1], sys.argv[2]
text = open(header, encoding="utf-8").read()
text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
declared = set(re.findall(r"^[a-z][\w \*]*?\b(troc_[a-z_]+)\(", text, flags=re.M))

out = subprocess.run(["nm", "-D", "--defined-only", library], check=True, capture_output=True, text=True).stdout
exported = set()
for line in out.splitlines():
    fields = line.split()
    if len(fields) == 3 and fields[1] in "TtWi":
        exported.add(fields[2].split("@")[0])

missing = sorted(declared - exported)
extra = sorted(exported - declared)
if missing:
    print("declared in troc.h but not exported (add to libtroc.map):", " ".join(missing))
if extra:
    print("exported but not declared in troc.h:", " ".join(extra))
if missing or extra or not declared:
    sys.exit(1)
print(f"libtroc exports the {len(declared)} functions of troc.h")
