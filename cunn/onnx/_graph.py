"""GraphBuilder: the ONNX graph as it is emitted — named values, nodes, initializers —
turned into a ModelProto with the ``onnx`` package's helpers at the end."""
import numpy as np

__all__ = ["GraphBuilder", "UnsupportedOp"]


class UnsupportedOp(RuntimeError):
    """An op of the traced model has no ONNX emitter (or cannot be expressed)."""


class GraphBuilder:
    def __init__(self, onnx, opset_version):
        self.onnx = onnx
        self.opset_version = opset_version
        self.nodes = []
        self.initializers = {}  # name -> ndarray
        self.value_names = {}   # id(Tensor) -> value name
        self.keep_alive = []    # the traced Tensors, so their ids are not reused
        self.used_names = set()
        self.named_constants = {}  # id(Tensor) -> (name, Tensor): parameters and buffers,
        # made initializers when an op first reads them

    def unique(self, hint):
        name, counter = hint, 1
        while name in self.used_names:
            counter += 1
            name = f"{hint}_{counter}"
        self.used_names.add(name)
        return name

    def bind(self, tensor, name):
        self.value_names[id(tensor)] = name
        self.keep_alive.append(tensor)

    def value(self, tensor):
        """The value name of a traced Tensor; anything the trace did not produce (a
        parameter is bound beforehand) is a constant of the model."""
        if tensor is None:
            return ""
        name = self.value_names.get(id(tensor))
        if name is None:
            hint, _ = self.named_constants.get(id(tensor), ("constant", None))
            name = self.constant(np.asarray(tensor._data), hint)
            self.bind(tensor, name)
        return name

    def array(self, array, hint="constant"):
        """An ndarray an op saved: the initializer of the parameter or buffer that holds
        it (named as in the state dict) when there is one, else a new constant."""
        for name, tensor in self.named_constants.values():
            if tensor._data is array:
                return self.value(tensor)
        return self.constant(array, hint)

    def constant(self, array, hint="constant"):
        name = self.unique(hint)
        self.initializers[name] = np.ascontiguousarray(array)
        return name

    def node(self, op_type, inputs, outputs=None, **attributes):
        """Adds one node; returns its output name (or names, when ``outputs`` is a count)."""
        count = 1 if outputs is None else outputs
        names = [self.unique(f"{op_type.lower()}_out") for _ in range(count)]
        self.nodes.append(self.onnx.helper.make_node(
            op_type, list(inputs), names, name=self.unique(op_type), **attributes))
        return names[0] if outputs is None else names

    def value_info(self, name, dtype, shape):
        return self.onnx.helper.make_tensor_value_info(
            name, self.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype)), shape)

    def rename(self, old, new):
        """Gives the value ``old`` (a node's output) the name ``new`` everywhere."""
        for node in self.nodes:
            for names in (node.input, node.output):
                for index, name in enumerate(names):
                    if name == old:
                        names[index] = new

    def model(self, inputs, outputs, graph_name="cunn"):
        """inputs/outputs: (name, dtype, shape) with str entries in shape for dynamic dims."""
        helper, numpy_helper = self.onnx.helper, self.onnx.numpy_helper
        graph = helper.make_graph(
            self.nodes, graph_name,
            [self.value_info(*spec) for spec in inputs],
            [self.value_info(*spec) for spec in outputs],
            initializer=[numpy_helper.from_array(array, name)
                         for name, array in self.initializers.items()])
        opsets = [helper.make_opsetid("", self.opset_version)]
        # The oldest IR version the opset allows, so older runtimes read the file too.
        model = helper.make_model(graph, producer_name="cunn", opset_imports=opsets,
                                  ir_version=helper.find_min_ir_version_for(opsets))
        self.onnx.checker.check_model(model)
        return model
