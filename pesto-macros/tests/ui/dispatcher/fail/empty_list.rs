use pesto::prelude::*;

dispatcher_app!(App = []);

fn main() {}
