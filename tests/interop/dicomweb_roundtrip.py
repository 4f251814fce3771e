"""STOW-RS with dicomweb-client, then QIDO-RS, WADO-RS and WADO-URI read back with
dicomweb-client, pydicom and Pillow; rendered pixels compared with pydicom's decoding of the
same file (linear VOI window of PS3.3 C.11.2.1.2.1), within one grey level.

usage: dicomweb_roundtrip.py BASE_URL FILE.dcm...
"""

import io
import sys

import numpy as np
import pydicom
import requests
from dicomweb_client.api import DICOMwebClient
from PIL import Image


def window(x, c, w):
    """The linear VOI function to 0..255, as hiehub documents it (rounded to nearest)."""
    lo = c - 0.5 - (w - 1) / 2
    hi = c - 0.5 + (w - 1) / 2
    y = ((x - (c - 0.5)) / (w - 1) + 0.5) * 255
    y = np.where(x <= lo, 0, np.where(x > hi, 255, y))
    return np.clip(np.rint(y), 0, 255)


def main():
    base, files = sys.argv[1].rstrip("/"), sys.argv[2:]
    client = DICOMwebClient(url=base + "/dicomweb")
    datasets = [pydicom.dcmread(f) for f in files]
    answer = client.store_instances(datasets)
    failed = getattr(answer, "FailedSOPSequence", [])
    assert len(failed) == 0, f"STOW-RS refused: {answer}"
    assert len(answer.ReferencedSOPSequence) == len(datasets), answer

    for path, ds in zip(files, datasets):
        study, series, sop = ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID
        found = client.search_for_studies(search_filters={"StudyInstanceUID": study})
        assert len(found) == 1, found
        found = client.search_for_instances(study, series)
        assert sop in [i["00080018"]["Value"][0] for i in found], found
        if "PatientID" in ds and ds.PatientID:
            by_patient = client.search_for_studies(search_filters={"PatientID": ds.PatientID})
            assert study in [s["0020000D"]["Value"][0] for s in by_patient], by_patient

        got = client.retrieve_instance(study, series, sop)
        assert got.SOPInstanceUID == sop
        assert got.PixelData == ds.PixelData, f"{path}: pixel data changed in the round trip"
        meta = client.retrieve_instance_metadata(study, series, sop)
        assert meta["00080018"]["Value"][0] == sop, meta
        assert meta["00280010"]["Value"][0] == ds.Rows

        # WADO-URI as PNG, the window given explicitly, compared with pydicom's pixels
        arr = ds.pixel_array
        if ds.SamplesPerPixel == 1:
            slope = float(getattr(ds, "RescaleSlope", 1) or 1)
            intercept = float(getattr(ds, "RescaleIntercept", 0) or 0)
            values = arr.astype(np.float64) * slope + intercept
            c, w = float(np.median(values)), float(values.max() - values.min()) / 2 + 1
            expected = window(values, c, w)
            if ds.PhotometricInterpretation == "MONOCHROME1":
                expected = 255 - expected
            params = f"&windowCenter={c}&windowWidth={w}"
        else:
            expected = arr.astype(np.float64)
            params = ""
        url = (
            f"{base}/wado?requestType=WADO&studyUID={study}&seriesUID={series}"
            f"&objectUID={sop}&contentType=image/png{params}"
        )
        r = requests.get(url, timeout=30)
        assert r.status_code == 200, (r.status_code, r.text)
        assert r.headers["Content-Type"] == "image/png"
        img = np.asarray(Image.open(io.BytesIO(r.content))).astype(np.float64)
        assert img.shape == expected.shape, (img.shape, expected.shape)
        diff = np.abs(img - expected).max()
        assert diff <= 1, f"{path}: rendered pixels differ from pydicom by {diff} grey levels"

        # the viewer's stored values are pydicom's pixel array
        r = requests.get(f"{base}/viewer/api/pixels/{study}/{series}/{sop}/1", timeout=30)
        assert r.status_code == 200, r.text
        fmt = r.headers["X-Pixel-Format"]
        if fmt == "rgb8":
            raw = np.frombuffer(r.content, dtype=np.uint8).reshape(arr.shape)
            d = np.abs(raw.astype(int) - arr.astype(int)).max()
            assert d <= 1, f"{path}: RGB differs by {d}"
        else:
            dtype = "<i2" if fmt == "int16" else "<u2"
            raw = np.frombuffer(r.content, dtype=dtype).reshape(arr.shape)
            assert np.array_equal(raw, arr), f"{path}: stored values differ"
        print(f"{path}: ok (max render difference {diff})")
    print("OK")


if __name__ == "__main__":
    main()
