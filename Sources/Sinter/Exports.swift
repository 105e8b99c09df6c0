// The umbrella module: `import Sinter` gives the DSL, autodiff, optimizers, IR, codegen and runtime.
@_exported import SinterAutodiff
@_exported import SinterCodegen
@_exported import SinterDSL
@_exported import SinterIO
@_exported import SinterIR
@_exported import SinterONNX
@_exported import SinterPasses
@_exported import SinterRuntime
@_exported import SinterTorch
