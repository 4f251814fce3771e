"""C-ECHO and C-STORE to hiehub's Storage SCP with pynetdicom; a data set without a
StudyInstanceUID must be refused with a failure status (0xA900) and not stored.

usage: pynetdicom_store.py HOST PORT CALLED_AE FILE.dcm...
"""

import sys

import pydicom
from pynetdicom import AE, StoragePresentationContexts
from pynetdicom.sop_class import Verification


def main():
    host, port, called, files = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
    ae = AE(ae_title="PYNETDICOM")
    ae.requested_contexts = StoragePresentationContexts[:120]
    ae.add_requested_context(Verification)
    datasets = [pydicom.dcmread(f) for f in files]
    # propose each file's own transfer syntax too (compressed ones included)
    for ds in datasets:
        ae.add_requested_context(ds.SOPClassUID, ds.file_meta.TransferSyntaxUID)
    assoc = ae.associate(host, port, ae_title=called)
    assert assoc.is_established, "association refused"
    status = assoc.send_c_echo()
    assert status and status.Status == 0, f"C-ECHO status {status}"
    for f, ds in zip(files, datasets):
        status = assoc.send_c_store(ds)
        assert status and status.Status == 0, f"{f}: C-STORE status {status}"
        print(f"{f}: stored")
    bad = datasets[0].copy()
    del bad.StudyInstanceUID
    bad.SOPInstanceUID = pydicom.uid.generate_uid()
    status = assoc.send_c_store(bad)
    assert status and status.Status == 0xA900, f"bad data set: status {status}"
    print(f"bad data set refused with 0x{status.Status:04X}")
    assoc.release()

    wrong = ae.associate(host, port, ae_title="NOT-HIEHUB")
    assert not wrong.is_established, "an association to another AE title was accepted"
    print("OK")


if __name__ == "__main__":
    main()
