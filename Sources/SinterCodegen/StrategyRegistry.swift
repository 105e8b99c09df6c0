import Foundation
import SinterIR

/// Every kernel strategy, per kind (Docs/strategies.md). The plan offers each kernel every
/// strategy of its kind and takes the cheapest that can compute it (KernelStrategy.swift).
/// A new strategy is one file and one line here.
enum StrategyRegistry {
    static let all: [any KernelStrategy] = [
        LoopNestStrategy(),
        AxisRunsReductionStrategy(),
        GemmMatmulStrategy(),
        LoopsMatmulStrategy(),
        GemmWindowConvStrategy(.conv2d),
        GemmWindowConvStrategy(.conv2dInputGrad),
        GemmWindowConvStrategy(.conv2dFilterGrad),
        WinogradConvStrategy(.conv2d, m: 2),
        WinogradConvStrategy(.conv2d, m: 4),
        WinogradConvStrategy(.conv2dInputGrad, m: 2),
        WinogradConvStrategy(.conv2dInputGrad, m: 4),
        StridedCopyStrategy(),
        ClippedWindowPoolStrategy(),
        IndexTableResizeStrategy(),
        PhiloxRandomStrategy(),
        IndexLoopStrategy(),
        InPlaceUpdateStrategy(),
    ]

    /// The strategies of `kind`, in registry order.
    static func strategies(for kind: KernelKind) -> [any KernelStrategy] { all.filter { $0.kind == kind } }

    /// Every kind with the names of its strategies, for error messages and docs.
    static var choices: [(kind: KernelKind, names: [String])] {
        KernelKind.allCases.map { kind in (kind, strategies(for: kind).map(\.name)) }
    }

    /// `loop (loop-nest), ..., matmul (gemm, loops), ...`: what an override may name.
    static var choicesText: String {
        choices.map { "\($0.kind.rawValue) (\($0.names.joined(separator: ", ")))" }.joined(separator: ", ")
    }

    /// `CodegenOptions.strategies` checked against the registry: an unknown kind or strategy
    /// name is an error that lists the choices.
    static func overrides(_ requested: [String: String]) throws -> [KernelKind: String] {
        var result: [KernelKind: String] = [:]
        for (kindName, name) in requested.sorted(by: { $0.key < $1.key }) {
            guard let kind = KernelKind(rawValue: kindName) else {
                throw SinterError.runtime(message: "strategy override '\(SinterError.excerpt(kindName, limit: 40)):\(SinterError.excerpt(name, limit: 40))': "
                    + "unknown op kind '\(SinterError.excerpt(kindName, limit: 40))'; kinds (strategies): \(choicesText)")
            }
            let names = strategies(for: kind).map(\.name)
            guard names.contains(name) else {
                throw SinterError.runtime(message: "strategy override '\(kind.rawValue):\(SinterError.excerpt(name, limit: 40))': "
                    + "unknown \(kind.rawValue) strategy '\(SinterError.excerpt(name, limit: 40))'; \(kind.rawValue) strategies: \(names.joined(separator: ", "))")
            }
            result[kind] = name
        }
        return result
    }
}

extension CodegenOptions {
    /// Parses a strategy list as `SINTER_STRATEGY` gives it: `kind:strategy` pairs separated by
    /// commas (`conv2d:gemm-window,matmul:loops`; spaces around items are ignored). Malformed
    /// items, a kind given twice, an unknown kind or strategy are errors listing the choices.
    public static func parseStrategies(_ text: String) throws -> [String: String] {
        var result: [String: String] = [:]
        for item in text.split(separator: ",") {
            let trimmed = item.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            let parts = trimmed.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw SinterError.runtime(message: "strategy override '\(SinterError.excerpt(trimmed, limit: 40))' is not KIND:STRATEGY "
                    + "(e.g. matmul:loops); kinds (strategies): \(StrategyRegistry.choicesText)")
            }
            if let earlier = result[parts[0]], earlier != parts[1] {
                throw SinterError.runtime(message: "strategy override: \(SinterError.excerpt(parts[0], limit: 40)) is given two strategies, "
                    + "'\(SinterError.excerpt(earlier, limit: 40))' and '\(SinterError.excerpt(parts[1], limit: 40))'")
            }
            result[parts[0]] = parts[1]
        }
        _ = try StrategyRegistry.overrides(result)
        return result
    }

    /// Every op kind with the names of its strategies, in registry order
    /// (`conv2d: gemm-window`); what `strategies` may name.
    public static var strategyChoices: [(kind: String, strategies: [String])] {
        StrategyRegistry.choices.map { ($0.kind.rawValue, $0.names) }
    }
}
