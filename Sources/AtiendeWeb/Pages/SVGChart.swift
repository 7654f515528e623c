import Foundation
import Plot

/// Charts drawn on the server as SVG (no chart library, no script): bars for series over categories, and a heatmap.
/// Every label is escaped (a contact reason is anyone's text); colours come from attributes, not inline styles.
enum SVGChart {
    static let palette = ["#0969da", "#1a7f37", "#bf3989", "#9a6700", "#8250df"]

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;").replacingOccurrences(of: "'", with: "&#39;")
    }

    /// Grouped bars: one group per category, one bar per series, with a legend and the largest value on the axis.
    static func bars(title: String, categories: [String], series: [(name: String, values: [Double])], width: Int = 720,
                     height: Int = 220) -> Node<HTML.BodyContext> {
        let top = 24.0, bottom = 40.0, left = 40.0
        let plotHeight = Double(height) - top - bottom
        let values = series.flatMap(\.values)
        let maximum = max(values.contains { $0 < 0 } ? 0 : 1, values.max() ?? 1)
        // Values below zero (an NPS of −40) hang under the zero line.
        let minimum = min(0, values.min() ?? 0)
        let span = max(1, maximum - minimum)
        let zero = top + plotHeight * maximum / span
        let groupWidth = (Double(width) - left - 10) / Double(max(1, categories.count))
        let barWidth = max(1, (groupWidth - 4) / Double(max(1, series.count)))
        var svg = ""
        // The axis, the zero line, and the values at the ends.
        svg += "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(top + plotHeight)\" stroke=\"#8c959f\"/>"
        svg += "<line x1=\"\(left)\" y1=\"\(fmt(zero))\" x2=\"\(width - 10)\" y2=\"\(fmt(zero))\" stroke=\"#8c959f\"/>"
        svg += "<text x=\"\(left - 4)\" y=\"\(top + 4)\" text-anchor=\"end\" font-size=\"11\" fill=\"#57606a\">\(number(maximum))</text>"
        svg += "<text x=\"\(left - 4)\" y=\"\(fmt(zero + 4))\" text-anchor=\"end\" font-size=\"11\" fill=\"#57606a\">0</text>"
        if minimum < 0 {
            svg += "<text x=\"\(left - 4)\" y=\"\(fmt(top + plotHeight))\" text-anchor=\"end\" font-size=\"11\" fill=\"#57606a\">\(number(minimum))</text>"
        }
        let labelEvery = max(1, categories.count / 12)
        for (c, category) in categories.enumerated() {
            let x0 = left + 2 + Double(c) * groupWidth
            for (s, entry) in series.enumerated() {
                let value = c < entry.values.count ? entry.values[c] : 0
                let h = abs(value) / span * plotHeight
                svg += "<rect x=\"\(fmt(x0 + Double(s) * barWidth))\" y=\"\(fmt(value >= 0 ? zero - h : zero))\" width=\"\(fmt(max(1, barWidth - 1)))\" "
                    + "height=\"\(fmt(h))\" fill=\"\(palette[s % palette.count])\"><title>\(escape(category)) · \(escape(entry.name)): \(number(value))</title></rect>"
            }
            if c % labelEvery == 0 {
                svg += "<text x=\"\(fmt(x0 + groupWidth / 2))\" y=\"\(fmt(top + plotHeight + 14))\" text-anchor=\"middle\" font-size=\"11\" fill=\"#57606a\">"
                    + "\(escape(String(category.prefix(14))))</text>"
            }
        }
        for (s, entry) in series.enumerated() {
            let x = left + Double(s) * 150
            svg += "<rect x=\"\(fmt(x))\" y=\"\(height - 14)\" width=\"10\" height=\"10\" fill=\"\(palette[s % palette.count])\"/>"
            svg += "<text x=\"\(fmt(x + 14))\" y=\"\(height - 5)\" font-size=\"12\" fill=\"#1b1f24\">\(escape(entry.name))</text>"
        }
        return frame(svg, title: title, width: width, height: height)
    }

    /// Weekdays × hours of the day, darker for more.
    static func heatmap(title: String, rows: [String], columns: [String], values: [[Int64]], width: Int = 720) -> Node<HTML.BodyContext> {
        let left = 44.0, top = 18.0
        let cell = (Double(width) - left - 4) / Double(max(1, columns.count))
        let height = Int(top + cell * Double(rows.count) + 4)
        let maximum = max(1, values.flatMap { $0 }.max() ?? 1)
        var svg = ""
        for (c, column) in columns.enumerated() where c % 3 == 0 {
            svg += "<text x=\"\(fmt(left + (Double(c) + 0.5) * cell))\" y=\"12\" text-anchor=\"middle\" font-size=\"11\" fill=\"#57606a\">\(escape(column))</text>"
        }
        for (r, row) in rows.enumerated() {
            let y = top + Double(r) * cell
            svg += "<text x=\"\(left - 4)\" y=\"\(fmt(y + cell * 0.7))\" text-anchor=\"end\" font-size=\"11\" fill=\"#57606a\">\(escape(row))</text>"
            for (c, column) in columns.enumerated() {
                let value = r < values.count && c < values[r].count ? values[r][c] : 0
                let opacity = value == 0 ? 0.04 : 0.15 + 0.85 * Double(value) / Double(maximum)
                svg += "<rect x=\"\(fmt(left + Double(c) * cell))\" y=\"\(fmt(y))\" width=\"\(fmt(cell - 1))\" height=\"\(fmt(cell - 1))\" "
                    + "fill=\"#0969da\" fill-opacity=\"\(fmt(opacity))\"><title>\(escape(row)) \(escape(column)): \(value)</title></rect>"
            }
        }
        return frame(svg, title: title, width: width, height: height)
    }

    private static func frame(_ body: String, title: String, width: Int, height: Int) -> Node<HTML.BodyContext> {
        .raw("<svg class=\"chart\" viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"\(escape(title))\" "
             + "xmlns=\"http://www.w3.org/2000/svg\"><title>\(escape(title))</title>\(body)</svg>")
    }

    private static func fmt(_ value: Double) -> String { String(format: "%.1f", value) }

    static func number(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)
    }
}
