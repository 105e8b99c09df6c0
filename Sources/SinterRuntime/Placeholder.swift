import SinterIR
