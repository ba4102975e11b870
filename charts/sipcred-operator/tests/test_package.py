"""`helm package` ships the templates, the schema and crds/, and leaves the tests out."""
import tarfile

import helm_python

from conftest import CHART


def test_package_contents(tmp_path):
    archive = helm_python.package(str(CHART), destination=str(tmp_path))
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    prefix = "sipcred-operator/"
    assert prefix + "Chart.yaml" in names
    assert prefix + "values.schema.json" in names
    assert prefix + "templates/NOTES.txt" in names
    assert len([n for n in names if n.startswith(prefix + "crds/")]) == 5
    assert not [n for n in names if "/tests/" in n or "__pycache__" in n]
    loaded = helm_python.Chart.load(archive)
    try:
        assert len(loaded.crds) == 5
    finally:
        loaded.close()
