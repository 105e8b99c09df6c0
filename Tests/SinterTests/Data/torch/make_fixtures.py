"""Makes the tiny torch.save fixtures with Python's own pickle and zipfile, without PyTorch.

Stand-in classes registered under torch's names make pickle write exactly the opcodes torch.save
writes (GLOBAL torch._utils _rebuild_tensor_v2, GLOBAL torch FloatStorage, BINPERSID storages, an
OrderedDict state dict), so the Swift reader is checked against files it did not write itself.
Run: python3 make_fixtures.py (deterministic; the outputs are committed).
"""
import collections, io, pickle, struct, sys, types, zipfile

torch = types.ModuleType("torch"); utils = types.ModuleType("torch._utils")
sys.modules["torch"] = torch; sys.modules["torch._utils"] = utils
torch._utils = utils

def _rebuild_tensor_v2(*args): raise AssertionError("never called when writing")
_rebuild_tensor_v2.__module__ = "torch._utils"; utils._rebuild_tensor_v2 = _rebuild_tensor_v2
for name in ["FloatStorage", "LongStorage", "ByteStorage", "DoubleStorage"]:
    setattr(torch, name, type(name, (), {"__module__": "torch"}))

class Storage:
    def __init__(self, kind, key, data, fmt):
        self.kind, self.key, self.data, self.fmt = kind, key, data, fmt

class Tensor:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride
    def __reduce_ex__(self, protocol):
        return (_rebuild_tensor_v2, (self.storage, self.offset, self.size, self.stride, False, collections.OrderedDict()))

# w: float32 (2,3) row-major; t: the transpose of a (3,2) float32 storage (strides (1,2));
# n: int64 (2,) at offset 1 of a 3-element storage; q: uint8 (4,).
fs = Storage(torch.FloatStorage, "0", [1.5, -2.0, 3.25, 4.0, 0.5, -6.0], "<f")
ts = Storage(torch.FloatStorage, "1", [10.0, 20.0, 30.0, 40.0, 50.0, 60.0], "<f")
ls = Storage(torch.LongStorage, "2", [7, -8, 9], "<q")
bs = Storage(torch.ByteStorage, "3", [0, 1, 254, 255], "<B")
state = collections.OrderedDict([
    ("w", Tensor(fs, 0, (2, 3), (3, 1))),
    ("t", Tensor(ts, 0, (2, 3), (1, 2))),
    ("n", Tensor(ls, 1, (2,), (1,))),
    ("q", Tensor(bs, 0, (4,), (1,))),
])
# torch's state_dict() carries per-module versions as an attribute, which pickle writes with BUILD.
state._metadata = collections.OrderedDict([("", {"version": 1})])
checkpoint = {"state_dict": state, "epoch": 3, "note": "fixture"}
storages = [fs, ts, ls, bs]

def raw(s): return b"".join(struct.pack(s.fmt, v) for v in s.data)

class Pickler(pickle.Pickler):
    def __init__(self, f, legacy):
        super().__init__(f, protocol=2); self.legacy = legacy
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            pid = ("storage", obj.kind, obj.key, "cpu", len(obj.data))
            return pid + (None,) if self.legacy else pid
        return None

def legacy():
    f = io.BytesIO()
    for header in [0x1950a86a20f9469cfc6c, 1001, {"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}]:
        pickle.dump(header, f, protocol=2)
    Pickler(f, True).dump(checkpoint)
    pickle.dump([s.key for s in storages], f, protocol=2)
    for s in storages:
        f.write(struct.pack("<q", len(s.data))); f.write(raw(s))
    return f.getvalue()

def zipped(compression):
    f = io.BytesIO(); p = io.BytesIO(); Pickler(p, False).dump(checkpoint)
    with zipfile.ZipFile(f, "w", compression) as z:
        for name, data in [("ckpt/data.pkl", p.getvalue()), ("ckpt/byteorder", b"little")] + \
                          [("ckpt/data/" + s.key, raw(s)) for s in storages] + [("ckpt/version", b"3\n")]:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)); info.compress_type = compression
            z.writestr(info, data)
    return f.getvalue()

# A protocol-4 pickle of plain data (FRAME, MEMOIZE, SHORT_BINUNICODE, STACK_GLOBAL, LONG1, BINFLOAT).
plain = pickle.dumps({"ints": [0, 255, 65535, -1, 2**40, -2**70], "f": 0.25, "b": b"\x00\x01", "s": "h\u00e9",
                      "t": (None, True, False), "od": collections.OrderedDict(a=1)}, protocol=4)

for name, data in [("legacy.pth", legacy()), ("zip-stored.pth", zipped(zipfile.ZIP_STORED)),
                   ("zip-deflate.pth", zipped(zipfile.ZIP_DEFLATED)), ("plain-protocol4.pkl", plain)]:
    open(name, "wb").write(data)
