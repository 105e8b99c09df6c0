import Foundation
import SinterIR

/// Batches in a `Batcher`'s order (seeded shuffling, reshuffled every pass), each prepared on a
/// loader thread while the one before it is in use: `next()` hands out the batch prepared ahead
/// and starts preparing the one after. The one loader thread of Sinter: the `Trainer` feeds its
/// steps through it, and `Learner.evaluate` / `predict` their batches.
public final class BatchLoader<Item> {
    private var order: Batcher
    private let prepare: (ArraySlice<Int>) -> Item
    /// Batches still to hand out (nil: endless, as training draws them).
    private var remaining: Int?
    /// The next batch, being prepared, and the data order as it was before it was drawn.
    private var pending: (indices: ArraySlice<Int>, item: Prepared, group: DispatchGroup, orderBefore: Batcher)?
    private let queue = DispatchQueue(label: "sinter.batch-loader")

    /// Filled in by the loader thread; read only after its group is waited on.
    private final class Prepared: @unchecked Sendable {
        var item: Item?
    }

    /// `limit` batches at most (nil: as many as asked for).
    public init(order: Batcher, limit: Int? = nil, prepare: @escaping (ArraySlice<Int>) -> Item) {
        self.order = order
        self.prepare = prepare
        remaining = limit
    }

    /// The next batch's indices and prepared item. The first call prepares it on the caller's
    /// thread; each call then starts the following one on the loader thread.
    public func next() -> (indices: ArraySlice<Int>, item: Item) {
        let batch: (indices: ArraySlice<Int>, item: Item)
        if let pending {
            pending.group.wait()
            batch = (pending.indices, pending.item.item!)
            self.pending = nil
        } else {
            let indices = order.next()
            batch = (indices, prepare(indices))
        }
        if let left = remaining { remaining = left - 1 }
        if remaining.map({ $0 > 0 }) ?? true { startPreparing() }
        return batch
    }

    /// The data order as of the next batch `next()` returns: a batch drawn ahead does not count
    /// (what a checkpoint records).
    public var position: Batcher { pending?.orderBefore ?? order }

    /// Waits until the batch being prepared (if any) is ready.
    public func waitForPending() { pending?.group.wait() }

    /// Continues from `order`, dropping any batch drawn ahead from the old one.
    public func restart(from order: Batcher) {
        waitForPending()
        pending = nil
        self.order = order
    }

    private func startPreparing() {
        let orderBefore = order
        let indices = order.next()
        let prepared = Prepared(), group = DispatchGroup()
        let prepare = self.prepare
        queue.async(group: group) { prepared.item = prepare(indices) }
        pending = (indices, prepared, group, orderBefore)
    }
}

extension Dataset {
    /// Batches of `size` of this dataset's feeds, in an order shuffled with `seed` every pass
    /// (in index order without `shuffle`); the last batch of a pass is short when `size` does
    /// not divide `count`. Prepared ahead on the loader thread; `limit` stops after N batches.
    public func batches(size: Int, shuffle: Bool = true, seed: UInt64 = 0, limit: Int? = nil) -> BatchLoader<[String: HostTensor]> {
        let order = Batcher(count: count, batchSize: size, shuffle: shuffle, seed: seed)
        return BatchLoader(order: order, limit: limit) { self.feeds(for: $0) }
    }
}
