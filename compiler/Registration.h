//===- Registration.h - dialects and passes dlc knows -----------*- C++ -*-===//

#ifndef DLC_COMPILER_REGISTRATION_H
#define DLC_COMPILER_REGISTRATION_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace dlc {
/// Every dialect (dlc's and upstream's) a dlc pipeline may produce, with the
/// external models (bufferization, LLVM translation) they need.
void registerAllDialects(mlir::DialectRegistry &registry);
/// dlc's own passes, for dlc-opt and textual pipelines.
void registerAllPasses();
} // namespace dlc

#endif // DLC_COMPILER_REGISTRATION_H
