//===- KernelDialect.cpp - the kernel dialect -----------------------------===//

#include "dialects/kernel/KernelDialect.h"
#include "dialects/graph/GraphShapes.h"
#include "dialects/kernel/ConvAlgorithm.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace dlc::kernel;

#include "dialects/kernel/KernelDialect.cpp.inc"

void KernelDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/kernel/KernelOps.cpp.inc"
      >();
}

bool dlc::kernel::isKnownActivation(StringRef name) {
  return llvm::is_contained({"none", "relu", "leaky_relu", "clip", "sigmoid",
                             "tanh"},
                            name);
}

template <typename Op>
static LogicalResult verifyActivation(Op op) {
  if (!isKnownActivation(op.getActivation()))
    return op.emitOpError("unknown activation '") << op.getActivation() << "'";
  return success();
}

LogicalResult Conv2dOp::verify() {
  if (getLayout() != "nchw")
    return emitOpError("unsupported layout '") << getLayout() << "'";
  if (std::optional<StringRef> algorithm = getAlgorithm())
    if (!symbolizeConvAlgorithm(*algorithm))
      return emitOpError("unknown algorithm '")
             << *algorithm << "' (known: " << convAlgorithmNames() << ")";
  if (getStrides().size() != 2 || getDilations().size() != 2 ||
      getPads().size() != 4)
    return emitOpError("wants 2 strides, 2 dilations and 4 pads");
  auto in = getInput().getType(), out = getType();
  auto w = getFilter().getType();
  if (in.getRank() != 4 || w.getRank() != 4 || out.getRank() != 4)
    return emitOpError("wants rank-4 input, filter and result");
  if (in.getDimSize(1) != w.getDimSize(1) * static_cast<int64_t>(getGroup()))
    return emitOpError("input channels ") << in.getDimSize(1)
           << " != filter channels " << w.getDimSize(1) << " x group "
           << getGroup();
  for (int i = 0; i < 2; ++i) {
    int64_t expected = dlc::graph::slidingWindowOutputSize(
        in.getDimSize(2 + i), w.getDimSize(2 + i), getStrides()[i],
        getPads()[i], getPads()[2 + i], getDilations()[i], false);
    if (out.getDimSize(2 + i) != expected)
      return emitOpError("result spatial dim ") << i << " is "
             << out.getDimSize(2 + i) << ", expected " << expected;
  }
  if (getResidual() && getResidual().getType() != out)
    return emitOpError("residual type must equal the result type");
  return verifyActivation(*this);
}

LogicalResult MatmulOp::verify() {
  if (getLhs().getType().getRank() < 2 || getRhs().getType().getRank() < 2)
    return emitOpError("wants operands of rank >= 2");
  return verifyActivation(*this);
}

LogicalResult Pool2dOp::verify() {
  if (getKind() != "max" && getKind() != "avg")
    return emitOpError("kind must be 'max' or 'avg', got '") << getKind()
           << "'";
  if (getKernelShape().size() != 2 || getStrides().size() != 2 ||
      getDilations().size() != 2 || getPads().size() != 4)
    return emitOpError("wants 2 kernel dims, strides, dilations and 4 pads");
  return success();
}

#define GET_OP_CLASSES
#include "dialects/kernel/KernelOps.cpp.inc"
