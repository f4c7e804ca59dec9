"""smallbig-mm: SmallBigNet (CVPR 2020) video backbones for MMAction2 and timm."""

import os
import os.path as osp
import sys

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_version() -> str:
    with open(osp.join(HERE, 'smallbig_mm', 'version.py'), encoding='utf-8') as f:
        for line in f:
            if line.startswith('__version__'):
                return line.split('=')[1].strip().strip('\'"')
    raise RuntimeError('__version__ not found in smallbig_mm/version.py')


MMACTION_STACK = [
    # mmaction2 itself must be installed with `pip install --no-deps mmaction2==1.2.0`:
    # its metadata asks for opencv-contrib-python, a second package writing the same cv2
    # folder as the opencv-python that mmengine pulls in (README, Installation).
    'mmengine>=0.10.4,<0.11',
    'mmcv-lite>=2.0.0rc4,<2.2.0',  # mmaction2 1.2.0 asserts mmcv < 2.2.0
    'setuptools<81',  # mmengine 0.10.x imports pkg_resources
    'importlib-metadata',
    'einops',
    'scipy',
    'decord',
    'av',
]

DEPLOY = [
    # torch.onnx.export(dynamo=True) needs onnxscript; tested with onnx 1.23.2,
    # onnxruntime 1.32.0 and onnxscript 0.7.2 on torch 2.14.1
    'onnx>=1.17',
    'onnxruntime>=1.20',
    'onnxscript>=0.5',
]


def native_extension() -> dict:
    """The optional C++ extension ``smallbig_mm._native`` (the big views' pooling on CPUs).

    Built when torch is importable at build time (``pip install --no-build-isolation``)
    and ``SMALLBIG_MM_BUILD_EXT`` is not ``0``. A failed build leaves the pure-PyTorch
    route (docs/installation.md): it warns and never fails the install.
    """
    if os.environ.get('SMALLBIG_MM_BUILD_EXT', '1') == '0':
        return {}
    try:
        from torch.utils.cpp_extension import BuildExtension, CppExtension
    except ImportError:
        print(
            'smallbig-mm: torch is not importable at build time, so the native pooling '
            'is not built (the pure-PyTorch route runs)',
            file=sys.stderr,
        )
        return {}

    class OptionalBuildExtension(BuildExtension):
        def build_extensions(self) -> None:
            try:
                super().build_extensions()
            except Exception as err:  # no compiler, a compile error: the pure route
                print(
                    f'smallbig-mm: the native pooling was not built ({err}); the '
                    'pure-PyTorch route runs',
                    file=sys.stderr,
                )

    source = osp.join('smallbig_mm', 'ops', 'csrc', 'bigview_pool.cpp')
    # at::parallel_for is OpenMP in the headers: without -fopenmp it runs on one thread.
    # Linux wheels of torch use GCC's libgomp; where they name it libgomp.so.1 (torch 2.14
    # does), the extension shares it. A wheel with a hashed name would load a second one.
    openmp = ['-fopenmp'] if sys.platform.startswith('linux') else []
    extension = CppExtension(
        'smallbig_mm._native',
        [source],
        optional=True,
        extra_compile_args=['-O3', *openmp],
        extra_link_args=openmp,
    )
    return dict(
        ext_modules=[extension],
        cmdclass={'build_ext': OptionalBuildExtension.with_options(use_ninja=True)},
    )


# --- Files shipped besides the code (keep these lines apart from the build settings) ---
# smallbig_mm/.mim holds links to the repository's configs/, model-index.yml, CITATION.cff
# and CHANGELOG.md: the wheel copies the files, so `_base_ = ['smallbig_mm::...']` finds
# the text configs as MMEngine looks for them (<package>/.mim/configs); an editable install
# reads the links themselves (smallbig_mm/mmaction/patches/editable_installs.py, no copy and
# no link made at install time). smallbig_mm/configs is their generated pure-Python form
# (tools/misc/generate_python_configs.py). MANIFEST.in
# lists the same files for the sdist; LICENSE goes into the wheel's metadata.
PACKAGE_DATA = {
    'smallbig_mm': [
        '.mim/model-index.yml',
        '.mim/CITATION.cff',
        '.mim/CHANGELOG.md',
        '.mim/configs/**/*.py',
        '.mim/configs/**/*.yml',
        '.mim/configs/**/*.md',
        'configs/**/*.py',
        'py.typed',  # typed (PEP 561)
    ],
}
LICENSE_FILES = ['LICENSE']

setup(
    name='smallbig-mm',
    version=read_version(),
    description='SmallBigNet (CVPR 2020) video backbones for MMAction2 and timm',
    long_description=open(osp.join(HERE, 'README.md'), encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    license_files=LICENSE_FILES,
    python_requires='>=3.9',
    packages=find_packages(include=['smallbig_mm', 'smallbig_mm.*']),
    package_data=PACKAGE_DATA,
    # torch 2.9: the first with torch.fx._symbolic_trace.is_fx_symbolic_tracing (2.7 added
    # torch.compiler.is_exporting); both are called by the model. Checked by
    # tools/check_torch_floor.sh (docs/installation.md, "The torch floor")
    install_requires=['torch>=2.9', 'numpy', 'opencv-python'],
    extras_require={
        'mmaction': MMACTION_STACK,
        'timm': ['timm>=1.0.20,<1.1'],  # brings huggingface_hub and safetensors
        # hf-hub: / timm/ sources and hub folders without timm (torch hub caches need nothing)
        'hub': ['huggingface_hub', 'safetensors'],
        'deploy': DEPLOY,
        'all': MMACTION_STACK + ['timm>=1.0.20,<1.1', 'safetensors'] + DEPLOY,
        'tests': ['pytest>=7', 'pytest-xdist', 'tensorboard'] + DEPLOY,
        'lint': ['ruff==0.17.6', 'mypy==2.4.1', 'pre-commit'],  # tools/lint.sh
    },
    entry_points={
        'console_scripts': [
            'smallbig-train=smallbig_mm.cli.launcher:main_train',
            'smallbig-test=smallbig_mm.cli.launcher:main_test',
            'smallbig-demo=smallbig_mm.cli.launcher:main_demo',
            'smallbig-extract-features=smallbig_mm.cli.launcher:main_extract_features',
            'smallbig-convert=smallbig_mm.cli.launcher:main_convert',
            'smallbig-generate-motion=smallbig_mm.cli.launcher:main_generate_motion',
            'smallbig-benchmark=smallbig_mm.cli.launcher:main_benchmark',
            'smallbig-export=smallbig_mm.cli.launcher:main_export',
        ],
    },
    **native_extension(),
    classifiers=[
        'Programming Language :: Python :: 3',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
    ],
)
