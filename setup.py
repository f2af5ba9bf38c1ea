"""Build shortcutbench and its compiled core ``shortcutbench._C``.

torch must already be installed (``pip install --no-build-isolation -e .``); an isolated build
environment would pull an unpinned, multi-GB CUDA torch. The Makefile does this for you.

Environment switches (printed at build time):
  FORCE_CPU=1        never build CUDA sources
  FORCE_CUDA=1       fail unless CUDA sources can be built (needs nvcc and a CUDA build of torch);
                     without it they are built whenever both are present
  SHORTCUTBENCH_NO_EXT=1  install pure Python only; ops fall back to their torch references
  CXXFLAGS           extra compiler flags. The build targets baseline x86-64 (no -march=native):
                     the hot loops keep one copy per ISA (baseline, AVX2, AVX-512, csrc/cpu/isa.h)
                     and the CPU picks at run time, so one binary runs on any x86-64 CPU
  DEBUG=1            -O0 -g
  NVCC_FLAGS         extra nvcc flags
"""
import glob
import os
import sys

from setuptools import find_packages, setup

try:
    import torch
    from torch.utils.cpp_extension import CUDA_HOME, BuildExtension, CppExtension, CUDAExtension
except ImportError:  # pragma: no cover - only on a misconfigured machine
    sys.exit("setup.py: torch is not installed; run `make install` (pins torch==2.13.0, CPU wheel)")


def _flag(name):
    return os.environ.get(name, "0") == "1"


def _openmp_available():
    # pytorch_scatter's rule: only when torch itself was built with OpenMP.
    return "OpenMP" in torch.__config__.parallel_info() and sys.platform != "darwin"


def _extensions():
    if _flag("SHORTCUTBENCH_NO_EXT"):
        print("shortcutbench: SHORTCUTBENCH_NO_EXT=1, pure-Python install", flush=True)
        return []
    cuda_torch = torch.version.cuda is not None
    if _flag("FORCE_CUDA") and not _flag("FORCE_CPU") and (not cuda_torch or CUDA_HOME is None):
        sys.exit(f"setup.py: FORCE_CUDA=1 needs a CUDA build of torch (have {torch.__version__}) and nvcc "
                 f"(CUDA_HOME={CUDA_HOME})")
    # CUDA kernels whenever they can be linked: a CUDA build of torch and nvcc (CUDA_HOME); no GPU
    # needs to be visible at build time. The CPU wheel cannot link them (`make cuda-check` still
    # compiles every .cu there).
    build_cuda = not _flag("FORCE_CPU") and (_flag("FORCE_CUDA") or (cuda_torch and CUDA_HOME is not None))
    root = os.path.dirname(os.path.abspath(__file__))
    rel = lambda p: os.path.relpath(p, root)  # noqa: E731
    sources = sorted(glob.glob(os.path.join(root, "csrc", "*.cpp")))
    sources += sorted(glob.glob(os.path.join(root, "csrc", "cpu", "*.cpp")))
    if build_cuda:
        sources += sorted(glob.glob(os.path.join(root, "csrc", "cuda", "*.cu")))
    sources = [rel(s) for s in sources]

    debug = _flag("DEBUG")
    # torch 2.13 headers use C++20 bit-field initialisers; they compile as an extension under C++17.
    cxx = ["-std=c++17", "-O0" if debug else "-O3", "-Wno-c++20-extensions"]
    if debug:
        cxx.append("-g")
    link = []
    openmp = _openmp_available()
    if openmp:
        cxx += ["-fopenmp", "-DAT_PARALLEL_OPENMP"]
        link.append("-fopenmp")
    macros = [("WITH_CUDA", None)] if build_cuda else []
    print(
        f"shortcutbench build: cuda={build_cuda} (torch cuda={torch.version.cuda}, "
        f"CUDA_HOME={CUDA_HOME}) openmp={openmp} debug={debug} cxx={' '.join(cxx)} "
        f"sources={len(sources)}",
        flush=True,
    )
    kwargs = dict(
        name="shortcutbench._C",
        sources=sources,
        include_dirs=[os.path.join(root, "csrc")],
        define_macros=macros,
        extra_link_args=link,
    )
    if build_cuda:
        nvcc = ["-O3", "-std=c++17"] + os.environ.get("NVCC_FLAGS", "").split()
        return [CUDAExtension(extra_compile_args={"cxx": cxx, "nvcc": nvcc}, **kwargs)]
    return [CppExtension(extra_compile_args={"cxx": cxx}, **kwargs)]


setup(
    name="shortcutbench",
    version="0.1.0",
    description="Benchmark suite measuring how image classifiers cheat and whether a cure works",
    package_dir={"": "pysrc"},
    packages=find_packages("pysrc"),
    package_data={"shortcutbench": ["py.typed"], "shortcutbench.submissions": ["template/*"],
                  "shortcutbench.zoo": ["weights/*/*.safetensors", "weights/*/*.json"]},
    python_requires=">=3.10",
    install_requires=["torch>=2.1", "numpy", "pandas", "tqdm", "matplotlib", "mlxtend"],
    entry_points={"console_scripts": ["shortcutbench = shortcutbench.cli:main"]},
    ext_modules=_extensions(),
    cmdclass={"build_ext": BuildExtension.with_options(no_python_abi_suffix=True)},
    zip_safe=False,
)
