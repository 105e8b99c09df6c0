/// Guard zones for the `checkBounds` build (CheckBuild.swift).
///
/// Every request is planned as `guardBytes + bytes + guardBytes` (so equal sizes stay equal and
/// in-place pairs are the same as without guards) and its data placed after the first guard, so each buffer owns a zone before and after it for its whole lifetime: no buffer
/// live at the same step (and so no kernel that may legitimately write) shares those bytes. The
/// tail zone also covers the alignment padding after the data, so writing even one element past
/// the end lands in it. In-place pairs keep their shared offset (they have equal sizes).
extension MemoryPlanner {
    /// `plan` applied to the padded requests, with every offset moved past its leading guard.
    public static func guarded(_ requests: [BufferRequest], guardBytes: Int,
                               plan: ([BufferRequest]) -> ArenaPlan) -> ArenaPlan {
        let padded = requests.map { request -> BufferRequest in
            var request = request
            request.bytes = guardBytes + request.bytes + guardBytes
            return request
        }
        var result = plan(padded)
        for (key, offset) in result.offsets { result.offsets[key] = offset + guardBytes }
        return result
    }

    /// The two guard zones of a buffer of `bytes` at `offset` in a guarded plan: the zone before
    /// it and the zone from its last byte to the next guard's end, as (start, length) pairs.
    public static func guardZones(offset: Int, bytes: Int, guardBytes: Int) -> (before: (Int, Int), after: (Int, Int)) {
        let end = offset + bytes
        let zoneEnd = offset + align(bytes) + guardBytes
        return ((offset - guardBytes, guardBytes), (end, zoneEnd - end))
    }
}
