"""`python benchmarks/nullspace_project_cpu_time.py SECONDS`: compiled nullspace_project vs the
per-sample linalg loop of bench_nullspace_project.py on one thread, called alternately for SECONDS;
wall time and CPU time of the calling thread (time.thread_time), min and median. On a shared machine
CPU time is the fairer ratio: the loop's long calls get preempted, the op's short ones rarely."""
import statistics as st, sys, time
import torch
torch.set_num_threads(1)
import shortcutbench._ext as e; e.use_compiled("nullspace_project", torch.device("cpu"))
sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from bench_nullspace_project import per_sample_linalg_loop, B, K, N
op = torch.ops.shortcutbench.nullspace_project
g = torch.Generator().manual_seed(0)
v = torch.randn(B, N, generator=g); J = torch.randn(B, K, N, generator=g)
Jr = J.clone(); Jr[:, -1] = -Jr[:, :-1].sum(1)
def tm(f, *a):
    w, c = time.perf_counter(), time.thread_time(); f(*a); return time.perf_counter() - w, time.thread_time() - c
res = {"compiled": [], "compiled rank-deficient": [], "loop": []}
t_end = time.time() + float(sys.argv[1])
while time.time() < t_end:
    for _ in range(5):
        res["compiled"].append(tm(op, v, J, False, 1e-6))
        res["compiled rank-deficient"].append(tm(op, v, Jr, False, 1e-6))
    res["loop"].append(tm(per_sample_linalg_loop, v, J))
stats = {}
for k, xs in res.items():
    w, c = [x[0] for x in xs], [x[1] for x in xs]
    stats[k] = (min(w), st.median(w), min(c), st.median(c))
    print(f"{k:25s} n={len(xs):4d} wall min {min(w)*1e3:7.3f} median {st.median(w)*1e3:7.3f} ms | CPU min {min(c)*1e3:7.3f} median {st.median(c)*1e3:7.3f} ms")
L = stats["loop"]
for k in ("compiled", "compiled rank-deficient"):
    s = stats[k]
    print(f"loop / {k}: wall min {L[0]/s[0]:.1f}x median {L[1]/s[1]:.1f}x | CPU min {L[2]/s[2]:.1f}x median {L[3]/s[3]:.1f}x")
