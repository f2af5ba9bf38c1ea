"""Elastic-net paths against their baselines, tracked across commits (issue 20): ours / glmnet and
ours / glm-saga time at equal certified precision on the four sklearn shapes of
``benchmarks/bench_glm_shapes.py``, measured by that module's functions (one place for the
protocol). The synthetic 5k × 512 shape takes tens of minutes and stays in the pytest bench."""
import os
import sys

from .common import Benchmark

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))  # benchmarks/


class GlmShapes(Benchmark):
    param_names = ["problem"]
    params = (["digits-a0.5", "digits-a0.99", "breast_cancer-a0.5", "breast_cancer-a0.99"],)
    timeout = 3600  # setup_cache runs every solver on every problem once

    def setup_cache(self):
        import bench_glm_shapes as shapes

        out = {}
        for name in self.params[0]:
            problem = shapes.setup_problem(name)
            info = shapes.ours_info(problem)
            info.update(shapes.glmnet_info(problem, info))
            info.update(shapes.glm_saga_info(problem, info))
            out[name] = info
        return out

    def track_ratio_vs_glmnet(self, results, problem):
        return results[problem].get("ratio_vs_glmnet", float("nan"))  # NaN: glmnet never reached 1e-4

    def track_ratio_vs_glm_saga(self, results, problem):
        return results[problem]["ratio_vs_glm_saga"]

    def track_cpu_ratio_vs_glmnet(self, results, problem):  # CPU time: steadier on a shared machine
        return results[problem].get("cpu_ratio_vs_glmnet", float("nan"))

    def track_cpu_ratio_vs_glm_saga(self, results, problem):
        return results[problem]["cpu_ratio_vs_glm_saga"]

    def track_seconds(self, results, problem):
        return results[problem]["seconds"]

    track_ratio_vs_glmnet.unit = track_ratio_vs_glm_saga.unit = "ratio"
    track_cpu_ratio_vs_glmnet.unit = track_cpu_ratio_vs_glm_saga.unit = "ratio"
    track_seconds.unit = "seconds"
