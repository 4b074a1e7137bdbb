//! A schema compiled into the tree the codec walks: named types are inlined where they are
//! used (Azul's schemas have no recursive types), so reading and writing need no lookups.

use std::collections::HashMap;

use serde_json::Value as Json;

/// One avro type, as far as Azul's schemas use them (no unions, enums or int/float).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Boolean,
    Long,
    /// `long` with logical type `timestamp-micros`.
    Timestamp,
    Double,
    String,
    Bytes,
    Fixed {
        name: String,
        size: usize,
    },
    Array(Box<Node>),
    Map(Box<Node>),
    Record(Box<Record>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Record {
    pub name: String,
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Field {
    pub name: String,
    pub node: Node,
    /// The schema default, used when reading data written without this field.
    pub default: Option<Json>,
}

/// Named types defined so far, shared across the schemas of one version (as Go's cache is).
#[derive(Debug, Default)]
pub(crate) struct Names {
    named: HashMap<String, Node>,
}

impl Names {
    #[cfg(test)]
    pub fn get(&self, name: &str) -> Option<&Node> {
        self.named.get(name)
    }

    /// Compile one schema JSON, registering the named types it defines.
    pub fn compile(&mut self, schema: &Json) -> Result<Node, String> {
        match schema {
            Json::String(name) => self.primitive(name),
            Json::Object(o) => {
                let kind = o.get("type").ok_or("schema object without \"type\"")?;
                let Some(kind) = kind.as_str() else {
                    return self.compile(kind);
                };
                let logical = o.get("logicalType").and_then(Json::as_str);
                let node = match (kind, logical) {
                    ("long", Some("timestamp-micros")) => Node::Timestamp,
                    ("record", _) => self.record(o)?,
                    ("fixed", _) => Node::Fixed {
                        name: name_of(o)?,
                        size: o
                            .get("size")
                            .and_then(Json::as_u64)
                            .ok_or("fixed without size")? as usize,
                    },
                    ("array", _) => Node::Array(Box::new(self.compile(&o["items"])?)),
                    ("map", _) => Node::Map(Box::new(self.compile(&o["values"])?)),
                    // `{"name": "BinaryEvent", "type": "BinaryEvent"}`: a reference, as in
                    // Azul's status `results`.
                    (other, _) => self.primitive(other)?,
                };
                if matches!(kind, "record" | "fixed") {
                    self.named.insert(name_of(o)?, node.clone());
                }
                Ok(node)
            }
            Json::Array(_) => Err("unions are not used by Azul's schemas".into()),
            other => Err(format!("not a schema: {other}")),
        }
    }

    fn record(&mut self, o: &serde_json::Map<String, Json>) -> Result<Node, String> {
        let name = name_of(o)?;
        let fields = o
            .get("fields")
            .and_then(Json::as_array)
            .ok_or_else(|| format!("record {name} without fields"))?
            .iter()
            .map(|f| {
                Ok(Field {
                    name: f["name"]
                        .as_str()
                        .ok_or_else(|| format!("unnamed field in {name}"))?
                        .to_string(),
                    node: self.compile(&f["type"])?,
                    default: f.get("default").cloned(),
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(Node::Record(Box::new(Record { name, fields })))
    }

    fn primitive(&self, name: &str) -> Result<Node, String> {
        Ok(match name {
            "boolean" => Node::Boolean,
            "long" => Node::Long,
            "double" => Node::Double,
            "string" => Node::String,
            "bytes" => Node::Bytes,
            named => self
                .named
                .get(named)
                .cloned()
                .ok_or_else(|| format!("unknown type {named:?}"))?,
        })
    }
}

fn name_of(o: &serde_json::Map<String, Json>) -> Result<String, String> {
    o.get("name")
        .and_then(Json::as_str)
        .map(str::to_string)
        .ok_or_else(|| "named type without a name".into())
}
