// TEMPORARY: families not yet converted to declarations.
extension MetricFamily {
  public static let exact = MetricFamily("Exact curve metrics (beyond Keras)", [])
  public static let fScore = MetricFamily("F-scores", [])
  public static let iou = MetricFamily("IoU metrics", [])
  public static let agreement = MetricFamily("Agreement metrics (beyond Keras)", [])
  public static let calibration = MetricFamily("Calibration metrics (beyond Keras)", [])
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
