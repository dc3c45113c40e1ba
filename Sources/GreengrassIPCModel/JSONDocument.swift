import GreengrassJSON

/// Free-form JSON members of the model (`configuration`, `MERGE`, `jsonMessage.message`, ...).
public typealias JSONDocument = JSONValue
