//! The imports a pickle may make and still be judged safe to load: the callables that rebuild
//! tensors and arrays (PyTorch, NumPy, joblib), and containers and value types that build data
//! and run no code of their choosing. Everything else is `unsafe-pickle`: not only the known
//! bad ones (`os.system`, `builtins.eval`, `subprocess.*`, `socket`, `runpy`, `importlib`...),
//! because the list of gadgets in the standard library and in installed packages keeps
//! growing (see the advisories against picklescan and fickling), while the list of what a
//! model file needs is short. Names are compared whole: `builtins.eval.__call__` or a dotted
//! path through an allowed module is not allowed. `docs/sniff.md` shows the same list.

/// Every allowed `module.name`. A trailing `*` allows every name in that module whose name
/// matches the pattern's prefix (the typed storages and dtypes).
pub const ALLOWED_GLOBALS: &[&str] = &[
    // Containers and plain values (Python 2 writers name builtins `__builtin__`).
    "builtins.set",
    "builtins.frozenset",
    "builtins.bytearray",
    "builtins.bytes",
    "builtins.dict",
    "builtins.list",
    "builtins.tuple",
    "builtins.int",
    "builtins.float",
    "builtins.complex",
    "builtins.str",
    "builtins.bool",
    "builtins.slice",
    "builtins.range",
    "builtins.object",
    "__builtin__.set",
    "__builtin__.frozenset",
    "__builtin__.bytearray",
    "__builtin__.dict",
    "__builtin__.list",
    "__builtin__.tuple",
    "__builtin__.int",
    "__builtin__.long",
    "__builtin__.float",
    "__builtin__.complex",
    "__builtin__.str",
    "__builtin__.unicode",
    "__builtin__.bool",
    "__builtin__.slice",
    "__builtin__.object",
    "collections.OrderedDict",
    "collections.defaultdict",
    "collections.Counter",
    "collections.deque",
    "copyreg._reconstructor",
    "copy_reg._reconstructor",
    "copyreg.__newobj__",
    "copy_reg.__newobj__",
    "_codecs.encode",
    "datetime.datetime",
    "datetime.date",
    "datetime.time",
    "datetime.timedelta",
    "datetime.timezone",
    "decimal.Decimal",
    "fractions.Fraction",
    // PyTorch tensors, parameters and their storages (torch.save, legacy and zip).
    "torch._utils._rebuild_tensor",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_tensor_v3",
    "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state",
    "torch._utils._rebuild_qtensor",
    "torch._utils._rebuild_sparse_tensor",
    "torch._utils._rebuild_nested_tensor",
    "torch._utils._rebuild_meta_tensor_no_storage",
    "torch._utils._rebuild_wrapper_subclass",
    "torch._utils._rebuild_device_tensor_from_numpy",
    "torch._tensor._rebuild_from_type_v2",
    "torch.nn.parameter.Parameter",
    "torch.storage.UntypedStorage",
    "torch.storage.TypedStorage",
    "torch.serialization._get_layout",
    "torch.Size",
    "torch.Tensor",
    "torch.device",
    "torch.dtype",
    "torch.*Storage",
    "torch.float*",
    "torch.bfloat16",
    "torch.half",
    "torch.double",
    "torch.int*",
    "torch.uint*",
    "torch.bool",
    "torch.complex*",
    "torch.cfloat",
    "torch.cdouble",
    "torch.qint*",
    "torch.quint*",
    "torch.strided",
    "torch.sparse_coo",
    "torch.sparse_csr",
    "torch.per_tensor_affine",
    "torch.per_channel_affine",
    "torch.per_tensor_symmetric",
    "torch.per_channel_symmetric",
    // NumPy arrays, scalars and dtypes (pickle, np.save of object arrays, joblib).
    "numpy.ndarray",
    "numpy.dtype",
    "numpy.core.multiarray._reconstruct",
    "numpy._core.multiarray._reconstruct",
    "numpy.core.multiarray.scalar",
    "numpy._core.multiarray.scalar",
    "numpy.core.numeric._frombuffer",
    "numpy._core.numeric._frombuffer",
    "numpy.dtypes.*DType",
    // joblib's own array wrappers (the arrays follow raw in the stream, and are stepped over).
    "joblib.numpy_pickle.NumpyArrayWrapper",
    "joblib.numpy_pickle.NDArrayWrapper",
    "joblib.numpy_pickle_compat.NDArrayWrapper",
];

/// Whether `global` (`module.name`) is on the allow-list.
pub fn is_allowed_global(global: &str) -> bool {
    ALLOWED_GLOBALS
        .iter()
        .any(|pattern| matches(pattern, global))
}

fn matches(pattern: &str, global: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == global,
        Some((prefix, suffix)) => {
            global.len() >= prefix.len() + suffix.len()
                && global.starts_with(prefix)
                && global.ends_with(suffix)
                // The wildcard stands for part of one name, never a dot.
                && !global[prefix.len()..global.len() - suffix.len()].contains('.')
        }
    }
}

/// What the imports say the pickle holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holds {
    /// PyTorch tensors or joblib arrays: weights.
    Weights,
    /// NumPy arrays only.
    Arrays,
    /// Neither.
    Data,
}

pub fn holds(globals: &[String]) -> Holds {
    let torch = globals.iter().any(|g| {
        g.starts_with("torch._utils._rebuild_")
            || g.starts_with("torch._tensor._rebuild_")
            || g == "torch.nn.parameter.Parameter"
            || (g.starts_with("torch.") && g.ends_with("Storage"))
            || g.starts_with("joblib.numpy_pickle")
    });
    if torch {
        return Holds::Weights;
    }
    let numpy = globals.iter().any(|g| {
        g.ends_with("multiarray._reconstruct")
            || g.ends_with("numeric._frombuffer")
            || g == "numpy.ndarray"
    });
    if numpy {
        Holds::Arrays
    } else {
        Holds::Data
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensor_rebuilders_and_containers_are_allowed() {
        for g in [
            "torch._utils._rebuild_tensor_v2",
            "torch.FloatStorage",
            "torch.BFloat16Storage",
            "torch.float32",
            "collections.OrderedDict",
            "numpy.core.multiarray._reconstruct",
            "numpy.dtypes.Float64DType",
            "__builtin__.set",
        ] {
            assert!(is_allowed_global(g), "{g}");
        }
    }

    #[test]
    fn code_runners_and_lookalikes_are_not() {
        for g in [
            "builtins.eval",
            "__builtin__.eval",
            "os.system",
            "posix.system",
            "subprocess.Popen",
            "socket.create_connection",
            "runpy._run_code",
            "importlib.import_module",
            "builtins.getattr",
            "builtins.eval.__call__",
            "torch.serialization.load",
            "torch.storage._load_from_bytes",
            "torch._utils",
            "torch.utils.collect_env.run",
            "torch.nn.Storage.x",
            "numpy.f2py.crackfortran.getlincoef",
            "collections.OrderedDict.fromkeys",
            "torch.float.__class__",
        ] {
            assert!(!is_allowed_global(g), "{g}");
        }
    }

    #[test]
    fn what_a_pickle_holds_follows_its_imports() {
        let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            holds(&v(&["torch._utils._rebuild_tensor_v2"])),
            Holds::Weights
        );
        assert_eq!(
            holds(&v(&["numpy.core.multiarray._reconstruct"])),
            Holds::Arrays
        );
        assert_eq!(holds(&v(&["collections.OrderedDict"])), Holds::Data);
        assert_eq!(holds(&[]), Holds::Data);
    }
}
