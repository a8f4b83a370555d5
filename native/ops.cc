// The one generic entry point: call any ATen operator by name through libtorch's dispatcher.
// Autograd, CPU and CUDA all come from the dispatcher, so a new op needs no new C++ here.
//
// resolveOp("aten::add", "Tensor") looks the schema up once and returns an id; call(id, ...args)
// converts the JS arguments by the schema's types, runs a boxed call and converts the results.
#include "gantry.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/stack.h>

#include <deque>
#include <sstream>

namespace gantry {
namespace {

// How one schema argument is read from JS. Derived once per op from the schema's types.
enum class Kind {
  Tensor, TensorList, OptTensorList,
  Int, IntList, Float, FloatList, Bool, BoolList,
  Scalar, String, Device, Generator,
  Unsupported,
};

struct ArgSpec {
  std::string name;
  Kind kind;
  bool optional;
  c10::optional<c10::IValue> defaultValue;
  std::string typeName;
};

struct OpEntry {
  c10::OperatorHandle handle;
  std::string name;  // "aten::add.Tensor", for error messages
  std::vector<ArgSpec> args;
};

std::deque<OpEntry> registry;  // deque: entries never move once resolved

Kind kindOf(const c10::TypePtr& type) {
  switch (type->kind()) {
    case c10::TypeKind::TensorType: return Kind::Tensor;
    case c10::TypeKind::IntType:
    case c10::TypeKind::SymIntType:
    case c10::TypeKind::ScalarTypeType:
    case c10::TypeKind::LayoutType:
    case c10::TypeKind::MemoryFormatType: return Kind::Int;
    case c10::TypeKind::FloatType:
    case c10::TypeKind::SymFloatType: return Kind::Float;
    case c10::TypeKind::BoolType: return Kind::Bool;
    case c10::TypeKind::NumberType: return Kind::Scalar;
    case c10::TypeKind::StringType: return Kind::String;
    case c10::TypeKind::DeviceObjType: return Kind::Device;
    case c10::TypeKind::GeneratorType: return Kind::Generator;
    case c10::TypeKind::ListType: {
      const auto& element = type->containedType(0);
      if (element->kind() == c10::TypeKind::OptionalType) {
        return element->containedType(0)->kind() == c10::TypeKind::TensorType ? Kind::OptTensorList : Kind::Unsupported;
      }
      switch (kindOf(element)) {
        case Kind::Tensor: return Kind::TensorList;
        case Kind::Int: return Kind::IntList;
        case Kind::Float: return Kind::FloatList;
        case Kind::Bool: return Kind::BoolList;
        default: return Kind::Unsupported;
      }
    }
    default:
      // SymBool (PyTorch 2.x) reads as a bool; anything else is not reachable from JS.
      return type->str() == "SymBool" ? Kind::Bool : Kind::Unsupported;
  }
}

ArgSpec specOf(const c10::Argument& argument) {
  c10::TypePtr type = argument.type();
  bool optional = false;
  if (type->kind() == c10::TypeKind::OptionalType) {
    optional = true;
    type = type->containedType(0);
  }
  return {argument.name(), kindOf(type), optional, argument.default_value(), argument.type()->str()};
}

[[noreturn]] void badArg(const OpEntry& op, const ArgSpec& spec, const char* expected) {
  throw ArgError(op.name + ": argument '" + spec.name + "' expected " + expected + " (schema type " + spec.typeName + ")");
}

int64_t toInt(const OpEntry& op, const ArgSpec& spec, const Napi::Value& v) {
  if (!v.IsNumber()) badArg(op, spec, "an integer");
  double d = v.As<Napi::Number>().DoubleValue();
  if (d != static_cast<double>(static_cast<int64_t>(d))) badArg(op, spec, "an integer");
  return static_cast<int64_t>(d);
}

double toDouble(const OpEntry& op, const ArgSpec& spec, const Napi::Value& v) {
  if (!v.IsNumber()) badArg(op, spec, "a number");
  return v.As<Napi::Number>().DoubleValue();
}

bool toBool(const OpEntry& op, const ArgSpec& spec, const Napi::Value& v) {
  if (!v.IsBoolean()) badArg(op, spec, "a boolean");
  return v.As<Napi::Boolean>().Value();
}

Napi::Array toArray(const OpEntry& op, const ArgSpec& spec, const Napi::Value& v, const char* expected) {
  if (!v.IsArray()) badArg(op, spec, expected);
  return v.As<Napi::Array>();
}

const at::Tensor& toTensor(const OpEntry& op, const ArgSpec& spec, const Napi::Value& v) {
  if (!isHandle(v)) badArg(op, spec, "a tensor");
  return unwrap(v, spec.name.c_str());
}

// A JS number becomes an integer Scalar when it is integral, as a Python int would.
c10::IValue toScalar(const OpEntry& op, const ArgSpec& spec, const Napi::Value& v) {
  if (v.IsBoolean()) return c10::IValue(v.As<Napi::Boolean>().Value());
  if (!v.IsNumber()) badArg(op, spec, "a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (std::abs(d) < 9007199254740992.0 && d == static_cast<double>(static_cast<int64_t>(d))) {
    return c10::IValue(static_cast<int64_t>(d));
  }
  return c10::IValue(d);
}

// A JS array converted element by element.
template <typename T, typename Convert>
c10::List<T> listOf(const OpEntry& op, const ArgSpec& spec, const Napi::Value& v, const char* expected, Convert convert) {
  Napi::Array a = toArray(op, spec, v, expected);
  c10::List<T> list;
  list.reserve(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) list.push_back(convert(op, spec, a.Get(i)));
  return list;
}

c10::IValue toIValue(const OpEntry& op, const ArgSpec& spec, const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) {
    if (v.IsUndefined() && spec.defaultValue) return *spec.defaultValue;
    if (spec.optional) return c10::IValue();
    badArg(op, spec, "a value (it has no default)");
  }
  switch (spec.kind) {
    case Kind::Tensor: return toTensor(op, spec, v);
    case Kind::Int: return toInt(op, spec, v);
    case Kind::Float: return toDouble(op, spec, v);
    case Kind::Bool: return toBool(op, spec, v);
    case Kind::Scalar: return toScalar(op, spec, v);
    case Kind::String:
      if (!v.IsString()) badArg(op, spec, "a string");
      return c10::IValue(v.As<Napi::String>().Utf8Value());
    case Kind::Device:
      if (!v.IsString()) badArg(op, spec, "a device string such as 'cpu' or 'cuda:0'");
      return c10::IValue(c10::Device(v.As<Napi::String>().Utf8Value()));
    case Kind::Generator:
      badArg(op, spec, "null (gantry uses the default generator)");
    case Kind::TensorList:
      return listOf<at::Tensor>(op, spec, v, "an array of tensors", toTensor);
    case Kind::OptTensorList:
      return listOf<c10::optional<at::Tensor>>(op, spec, v, "an array of tensors or nulls",
          [](const OpEntry& o, const ArgSpec& s, const Napi::Value& e) {
            return e.IsNull() || e.IsUndefined() ? c10::optional<at::Tensor>() : c10::optional<at::Tensor>(toTensor(o, s, e));
          });
    case Kind::IntList:
      // An int where an int list is expected repeats it, as `int[2] stride=1` does in Python.
      if (v.IsNumber()) return c10::List<int64_t>({toInt(op, spec, v)});
      return listOf<int64_t>(op, spec, v, "an array of integers", toInt);
    case Kind::FloatList:
      return listOf<double>(op, spec, v, "an array of numbers", toDouble);
    case Kind::BoolList:
      return listOf<bool>(op, spec, v, "an array of booleans", toBool);
    case Kind::Unsupported:
      break;
  }
  badArg(op, spec, "a type that gantry cannot pass from JS");
}

Napi::Value fromIValue(Napi::Env env, const OpEntry& op, const c10::IValue& v) {
  if (v.isTensor()) {
    const at::Tensor& t = v.toTensor();
    return t.defined() ? wrap(env, t) : env.Null();
  }
  if (v.isTensorList()) {
    auto list = v.toTensorList();
    Napi::Array out = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) out.Set(static_cast<uint32_t>(i), wrap(env, list.get(i)));
    return out;
  }
  if (v.isInt()) return Napi::Number::New(env, static_cast<double>(v.toInt()));
  if (v.isDouble()) return Napi::Number::New(env, v.toDouble());
  if (v.isBool()) return Napi::Boolean::New(env, v.toBool());
  if (v.isScalar()) return Napi::Number::New(env, v.toScalar().toDouble());
  if (v.isNone()) return env.Null();
  if (v.isIntList()) {
    auto list = v.toIntList();
    Napi::Array out = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) out.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(list.get(i))));
    return out;
  }
  throw ArgError(op.name + ": returns a " + v.tagKind() + ", which gantry cannot pass to JS");
}

const OpEntry& entryOf(const Napi::Value& id) {
  if (!id.IsNumber()) throw ArgError("op id must be a number from resolveOp()");
  uint32_t i = id.As<Napi::Number>().Uint32Value();
  if (i >= registry.size()) throw ArgError("unknown op id " + std::to_string(i));
  return registry[i];
}

// Runs the op on a stack built from the call's arguments after the op id; leaves the results on
// the stack. The arguments come positionally, not as one array: reading an array's elements back
// through Node-API costs more than the small ops themselves.
void runBoxed(const OpEntry& op, const Napi::CallbackInfo& info, torch::jit::Stack& stack) {
  size_t given = info.Length() - 1;
  if (given > op.args.size()) {
    throw ArgError(op.name + ": takes " + std::to_string(op.args.size()) + " arguments, got " + std::to_string(given));
  }
  stack.reserve(op.args.size());
  for (size_t i = 0; i < op.args.size(); i++) stack.push_back(toIValue(op, op.args[i], info[i + 1]));
  op.handle.callBoxed(stack);
}

// resolveOp(name, overload) -> id
Napi::Value ResolveOp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    if (!info[0].IsString()) throw ArgError("resolveOp: name must be a string such as 'aten::add'");
    std::string name = info[0].As<Napi::String>().Utf8Value();
    std::string overload = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
    auto handle = c10::Dispatcher::singleton().findSchema({name, overload});
    if (!handle) {
      throw ArgError("unknown operator " + name + (overload.empty() ? "" : "." + overload) + ": libtorch " +
                     "has no such schema");
    }
    OpEntry entry{*handle, overload.empty() ? name : name + "." + overload, {}};
    for (const auto& argument : handle->schema().arguments()) entry.args.push_back(specOf(argument));
    registry.push_back(std::move(entry));
    return Napi::Number::New(env, static_cast<double>(registry.size() - 1));
  });
}

// opSchema(id) -> the schema as libtorch prints it
Napi::Value OpSchema(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    std::ostringstream s;
    s << entryOf(info[0]).handle.schema();
    return Napi::String::New(info.Env(), s.str());
  });
}

// call(id, ...args) -> a tensor, a number, or an array of them when the op returns several
Napi::Value Call(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const OpEntry& op = entryOf(info[0]);
    torch::jit::Stack stack;
    runBoxed(op, info, stack);
    if (stack.size() == 1) return fromIValue(env, op, stack[0]);
    Napi::Array out = Napi::Array::New(env, stack.size());
    for (size_t i = 0; i < stack.size(); i++) out.Set(static_cast<uint32_t>(i), fromIValue(env, op, stack[i]));
    return out;
  });
}

// callVoid(id, ...args): for in-place ops, whose result is their first argument.
Napi::Value CallVoid(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const OpEntry& op = entryOf(info[0]);
    torch::jit::Stack stack;
    runBoxed(op, info, stack);
    return env.Undefined();
  });
}

}  // namespace

void initOps(Napi::Env env, Napi::Object exports) {
  exports.Set("resolveOp", Napi::Function::New(env, ResolveOp, "resolveOp"));
  exports.Set("opSchema", Napi::Function::New(env, OpSchema, "opSchema"));
  exports.Set("call", Napi::Function::New(env, Call, "call"));
  exports.Set("callVoid", Napi::Function::New(env, CallVoid, "callVoid"));
}

}  // namespace gantry
