import SinterIR

/// Graph-to-graph optimisation passes (fusion, memory planning) live here; see Docs/architecture.md.
public enum Passes {}
