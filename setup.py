"""Packaging for wsseg_nb: every field comes from settings.ini, the single place nbdev and pip read."""
from configparser import ConfigParser
from pathlib import Path

import setuptools

here = Path(__file__).parent
cfg = ConfigParser(delimiters=["="])
cfg.read(here / "settings.ini", encoding="utf-8")
cfg = cfg["DEFAULT"]


def words(key: str) -> list[str]:
    "A whitespace-separated list from settings.ini (empty when the key is absent)."
    return cfg.get(key, "").split()


extras = {k[len("extra_requirements_"):]: words(k) for k in cfg if k.startswith("extra_requirements_")}
extras["dev"] = words("dev_requirements") + [r for k, v in extras.items() for r in v if not r.startswith("pydensecrf")]
licenses = {"apache2": ("Apache Software License 2.0", "OSI Approved :: Apache Software License")}
lic = licenses[cfg["license"]]

setuptools.setup(
    name=cfg["lib_name"],
    version=cfg["version"],
    description=cfg["description"],
    long_description=(here / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    author=cfg["author"],
    author_email=cfg["author_email"],
    url=cfg["git_url"],
    license=lic[0],
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Image Recognition",
        f"License :: {lic[1]}",
    ],
    keywords=cfg["keywords"],
    python_requires=f">={cfg['min_python']}",
    packages=setuptools.find_packages(include=[cfg["lib_name"], cfg["lib_name"] + ".*"]),
    include_package_data=True,
    package_data={cfg["lib_name"]: [f"{s}/**/*" for s in ("sample", "sample_camvid", "sample_coco", "sample_acdc", "priors")] + [f"{s}/*" for s in ("sample", "sample_camvid", "sample_coco", "sample_acdc", "priors")]},
    install_requires=words("requirements"),
    extras_require=extras,
    entry_points={
        "console_scripts": words("console_scripts"),
        "nbdev": [f"{cfg['lib_path']}={cfg['lib_path']}._modidx:d"],
    },
    zip_safe=False,
)
