# Prints a sweep's results.jsonl: the last epoch of each config, and every epoch where it was evaluated.
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line); c = r["config"]
    last = r["history"][-1]
    print("%-10s %6.1fs clean %.4f robust %.4f fgsm %.4f" % (c["id"], r["seconds"], last[1], last[2], last[3]) + (" (PGD alone %.4f)" % last[4] if len(last) > 4 else ""))
    if len(r["history"]) > 1:
        for h in r["history"]: print("     ", h[0], "%.4f %.4f %.4f" % tuple(h[1:]))
