package dialogsim

import (
	"encoding/xml"
	"strings"
)

const xmlContentType = "text/xml; charset=UTF-8"

// resultHeader is the prologue of the vendor's numbers.order example; the
// purchase page shows the same document type, so every answer without a
// <data> section uses it, failures included.
const resultHeader = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE response [
 <!ELEMENT response (result,result_description)>
 <!ELEMENT result (#PCDATA)>
 <!ELEMENT result_description (#PCDATA)>
 
 ]>
`

// listHeader is the prologue of the vendor's addons.list example.
const listHeader = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE response [
<!ELEMENT response (result,result_description,data)>
<!ELEMENT result (#PCDATA)>
<!ELEMENT result_description (#PCDATA)>
<!ELEMENT data (addon+)>
<!ELEMENT addon (special_flag,limit_item_name,promo_footnote,purchase_price,max_qty_purchase,item_id,included_qty,start_date,end_date,non_recurring_charge,total_qty,in_use)>]>
`

// result answers result and a plain-text result_description.
func result(res, description string) reply {
	var b strings.Builder
	b.WriteString(resultHeader)
	b.WriteString("<response>\n<result>")
	escape(&b, res)
	b.WriteString("</result>\n<result_description>")
	escape(&b, description)
	b.WriteString("</result_description>\n</response>")
	return reply{contentType: xmlContentType, body: b.String()}
}

// failed is the answer public clients of the API check for; the vendor
// pages show no failure example.
func failed(description string) reply {
	return result("failed", description)
}

func escape(b *strings.Builder, s string) {
	_ = xml.EscapeText(b, []byte(s))
}
