// TEMPORARY: families not yet converted to declarations.
extension MetricFamily {
  public static let confusion = MetricFamily("Confusion-matrix metrics", [])
}

/// Reads the `{"name", "dtype"}` config that most wrappers have.
func readNameAndDType(_ config: KerasConfig, _ className: String, defaultName: String)
  throws(MetricError) -> (name: String, dtype: String, reader: ConfigReader)
{
  var r = try ConfigReader(config, expecting: className)
  let name = try r.string("name", default: defaultName)
  let dtype = try r.dtype()
  return (name, dtype, r)
}
