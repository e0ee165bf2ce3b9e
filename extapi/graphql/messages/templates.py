"""graphql-php 14.11's message templates for operation selection, variables, value coercion
and literals (Server\\Helper, Executor\\ReferenceExecutor, Executor\\Values, Utils\\Value,
the built-in scalars and Validator\\Rules\\ValuesOfCorrectType)."""

from __future__ import annotations

__all__ = [
    "NO_OPERATION_TYPE",
    "UNKNOWN_OPERATION",
    "MULTIPLE_OPERATIONS",
    "NO_OPERATION",
    "NO_SUBSCRIPTIONS",
    "NO_MUTATIONS",
    "NO_QUERY_TYPE",
    "REQUIRED_VARIABLE",
    "NON_NULL_VARIABLE",
    "INVALID_VARIABLE",
    "BAD_ARGUMENT",
    "NOT_INPUT_TYPE",
    "NOT_NULL",
    "EXPECTED_TYPE",
    "NOT_AN_OBJECT",
    "FIELD_NOT_PROVIDED",
    "FIELD_NOT_DEFINED",
    "DID_YOU_MEAN_VALUE",
    "STRING_VALUE",
    "INT_VALUE",
    "INT_RANGE",
    "FLOAT_VALUE",
    "BOOLEAN_VALUE",
    "ID_VALUE",
    "LITERAL_FIELD_MISSING",
    "LITERAL_FIELD_UNKNOWN",
    "LITERAL_BAD_ARGUMENT",
    "LITERAL_BAD_VALUE",
    "DID_YOU_MEAN",
    "DID_YOU_MEAN_ENUM",
]

# Operation selection and variables (graphql-php Server\Helper, ReferenceExecutor, Values).
NO_OPERATION_TYPE = "Failed to determine operation type"
UNKNOWN_OPERATION = 'Unknown operation named "{name}".'
MULTIPLE_OPERATIONS = "Must provide operation name if query contains multiple operations."
NO_OPERATION = "Must provide an operation."
NO_SUBSCRIPTIONS = "Schema is not configured for subscriptions."
NO_MUTATIONS = "Schema is not configured for mutations."
NO_QUERY_TYPE = "Schema does not define the required query root type."
REQUIRED_VARIABLE = 'Variable "${name}" of required type "{type}" was not provided.'
NON_NULL_VARIABLE = 'Variable "${name}" of non-null type "{type}" must not be null.'
INVALID_VARIABLE = 'Variable "${name}" got invalid value {value}; {detail}'
BAD_ARGUMENT = 'Argument "{name}" has invalid value {value}.'
NOT_INPUT_TYPE = (
    'Variable "${name}" expected value of type "{type}" which cannot be used as an input type.'
)

# Value coercion (graphql-php Utils\Value::coerceValue and its built-in scalars).
NOT_NULL = "Expected non-nullable type {type} not to be null"
EXPECTED_TYPE = "Expected type {type}"
NOT_AN_OBJECT = "Expected type {type} to be an object"
FIELD_NOT_PROVIDED = "Field {path} of required type {type} was not provided"
FIELD_NOT_DEFINED = 'Field "{name}" is not defined by type {type}'
DID_YOU_MEAN_VALUE = "did you mean {options}?"
STRING_VALUE = "String cannot represent a non string value: {value}"
INT_VALUE = "Int cannot represent non-integer value: {value}"
INT_RANGE = "Int cannot represent non 32-bit signed integer value: {value}"
FLOAT_VALUE = "Float cannot represent non numeric value: {value}"
BOOLEAN_VALUE = "Boolean cannot represent a non boolean value: {value}"
ID_VALUE = "ID cannot represent value: {value}"

# Literals (graphql-php Validator\Rules\ValuesOfCorrectType).
LITERAL_FIELD_MISSING = "Field {type}.{name} of required type {field_type} was not provided."
LITERAL_FIELD_UNKNOWN = 'Field "{name}" is not defined by type {type}'
LITERAL_BAD_ARGUMENT = 'Field "{field}" argument "{argument}" requires type {type}, found {value}'
LITERAL_BAD_VALUE = "Expected type {type}, found {value}"
DID_YOU_MEAN = "Did you mean {options}?"
DID_YOU_MEAN_ENUM = "Did you mean the enum value {options}?"
