"""Urgency: how soon a message needs an answer, 0..1, from explicit cues (EN + IT).

Families and why they weigh what they do: an explicit "urgent"/"subito" or a risk to money or safety
(stolen card, stranded, elderly alone) is about half of "drop everything"; waiting and repetition
("still waiting", "terza volta") and elapsed time ("for 3 days", "da ieri") a little less; deadlines,
shouting and "!!!" less again. Cues combine with diminishing returns (1 - Π(1 - w)), capped at 1.
Negated cues ("not urgent", "non è urgente") and look-alikes ("ho subito un danno", "thanks again",
"replied immediately") are defused before they count.
"""

from __future__ import annotations

import re

from sportello_priority.intents.cues import CueTable, combine, cues, guards
from sportello_priority.intents.results import UrgencyResult
from sportello_priority.intents.text import MAX_CHARS, normalise

_NUMBER = r"(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|twelve|several|a few|few|many|couple of)"
_NUMERO = r"(?:\d+|un|una|due|tre|quattro|cinque|sei|sette|otto|nove|dieci|quindici|venti|qualche|diversi|diverse"
_NUMERO += r"|molti|molte|parecchi|parecchie|alcuni|alcune|pi[uù] di \S+|oltre \S+|quasi \S+)"
_WEEKDAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_GIORNO = r"(?:luned[iì]|marted[iì]|mercoled[iì]|gioved[iì]|venerd[iì]|sabato|domenica)"

_TABLE = CueTable([
    *cues("explicit", {
        0.55: [r"urgent\w*", "asap", r"a\.s\.a\.p", "as soon as possible", "immediately", "right now",
               "right away", r"emergenc(?:y|ies)", r"urgent[ei]\w*", "urgenza", "immediatamente", r"emergenz[ae]",
               "il prima possibile", r"al pi[uù] presto", "time[- ]sensitive"],
        0.5: ["subito", "sos"],
        0.4: ["quanto prima", "critical", r"desperate\w*", r"disperat[oaie]", "aiutatemi"],
        # "Please help me get a Visa card" is politeness; a cry for help needs another cue.
        0.3: ["please help", "help me please", "aiuto"],
    }, negatable=True),
    *cues("risk", {0.5: [
        "stolen", "theft", r"lost (?:my )?(?:card|wallet|phone|passport|purse)", r"fraud\w*", "hacked",
        "compromised", r"unauthori[sz]ed", r"(?:someone|somebody) (?:\S+ ){0,2}(?:used|using|accessed"
        r"|took|withdrew|stole)", r"(?:didn't|did not|never) (?:make|authori[sz]e|recogni[sz]e) (?:this|these"
        r"|that|those|the|a|any)", r"(?:don't|do not) recogni[sz]e", "not recogni[sz]ed", r"stranded\w*",
        r"(?:i|we) (?:\S+ )?(?:never|didn't|did not) (?:made|make|did|do|authori[sz]ed?|created?|set up|went to"
        r"|go to|ordered|order|bought|buy|requested|request)", r"(?:isn't|is not|not) mine",
        r"(?:unfamiliar|unknown|strange|suspicious|unrecogni[sz]ed|fraudulent) (?:\S+ )?(?:payments?|charges?"
        r"|transactions?|debits?|withdrawals?|direct debits?|logins?|activity)",
        r"(?:can't|cannot) find my (?:card|wallet|phone|purse|passport)",
        r"(?:card|phone|wallet|purse|passport) (?:\S+ ){0,2}(?:lost|missing|gone)",
        r"non (?:l'ho|li ho|le ho|l'abbiamo) (?:fatt|autorizzat|effettuat|richiest)\w+",
        r"(?:addebito|pagamento|prelievo|transazione|operazione|movimento) (?:\S+ ){0,3}(?:sconosciut|stran"
        r"|sospett)\w+",
        "locked out", r"stuck (?:at|in) (?:the )?(?:airport|station|abroad)", "vulnerable", "elderly",
        "disabled", "hospital", "medical", "life support", "oxygen",
        # Italian
        r"rubat[oaie]", "furto", r"clonat[oaie]", r"frod[ei]", r"hackerat\w+", r"violat[oaie]",
        r"non autorizzat\w+", r"ho perso (?:la|il|il mio|la mia) (?:carta|portafoglio|telefono|passaporto)",
        r"(?:carta|bancomat) (?:\S+ )?smarrit\w+",
        r"operazion\w+ (?:\S+ ){0,2}non (?:riconosciut|autorizzat)\w+", r"qualcuno (?:\S+ ){0,3}(?:usat\w+"
        r"|usando|prelevat\w+|accedut\w+)", r"(?:sono|siamo) bloccat[oaie]", r"bloccat[oaie] (?:all'estero"
        r"|in aeroporto|all'aeroporto|fuori casa|in stazione)", "a piedi", r"anzian[oaie]", r"disabil\w+",
        "ospedale", "salvavita", r"sol[oa] in casa", r"neonat[oaie]",
    ]}),
    *cues("waiting", {
        0.45: [
            "still waiting", r"still (?:no|not|nothing|haven't|hasn't|don't|doesn't|can't|cannot|unable"
            r"|without)", r"(?:been|i'm|i am|we're|we are|am) waiting", r"no (?:response|reply|replies|answer"
            r"|answers|callback|call back|update|updates)", r"(?:nobody|no one|no-one) (?:is |has |ever )?"
            r"(?:answer|repl|respond|call|got back|gets back|pick|help)\w*",
            r"(?:second|third|fourth|fifth|sixth|2nd|3rd|4th|5th|6th|\d+th|umpteenth|nth) (?:time|attempt"
            r"|call|email|message|request)", "yet again", "once again", r"ignor(?:ed|ing)",
            # Italian
            r"ancora nessuna (?:risposta|notizia)", r"ancora (?:nessun\w*|niente|nulla|non|senza|in attesa)",
            r"nessuna (?:risposta|notizia"
            r"|comunicazione)", r"nessuno (?:\S+ )?(?:risponde|ha risposto|richiama|mi richiama|si fa vivo"
            r"|si [eè] fatto vivo|mi ha contattat\w+|mi ha richiamat\w+)", r"(?:sto|stiamo) ancora aspettando",
            r"aspetto (?:ancora|da)", r"in attesa da", r"(?:seconda|terza|quarta|quinta|sesta|ennesima|\d+a"
            r"|centesima) (?:volta|segnalazione|chiamata|telefonata|mail|email|richiesta)",
            r"per l'ennesima volta", r"sollecit\w+",
        ],
        0.35: [r"(?:multiple|several|\d+|two|three|four|five|many) times", "repeatedly", "keeps happening",
               r"chas(?:ed|ing)", r"(?:sto|stiamo) aspettando", r"ennesim\w+", "ancora una volta",
               r"(?:pi[uù]|tante|varie|diverse|mille|\d+) volte", "sempre lo stesso problema"],
        0.25: ["again", r"(?:every|each) (?:single )?(?:day|time|morning|night|week)", "di nuovo",
               r"(?:continua|continuano|continuate) a"],
    }),
    *cues("elapsed", {
        0.45: [
            rf"(?:for|over) (?:the )?(?:past |last )?(?:over |almost |nearly |more than )?{_NUMBER}? ?(?:\S+ )?"
            r"(?:hours?|hrs?|days?|weeks?|months?|mins?|minutes)",
            rf"since (?:yesterday|last (?:night|week|month|{_WEEKDAY})|this (?:morning|afternoon)|{_WEEKDAY}"
            r"|the (?:weekend|morning)|early|lunch(?:time)?)",
            rf"{_NUMBER} (?:hours?|hrs?|mins?|minutes|days|weeks|months) (?:on hold|waiting|in (?:a|the) queue"
            r"|and (?:still|counting|nothing))", "on hold for",
            r"it(?:'s| has) been (?:\S+ ){0,2}(?:days|weeks|months|ages|\d+)",
            # Italian
            rf"da {_NUMERO}? ?(?:\S+ )?(?:ore|giorni|giorno|settimane|settimana|mesi|mese|minuti)",
            rf"da (?:ieri|stamattina|stamani|stanotte|ieri sera|ieri mattina|questa mattina|{_GIORNO}"
            r"|(?:la )?settimana scorsa|inizio mese)",
            rf"(?:sono|[eè]) {_NUMERO}? ?(?:ore|giorni|settimane|mesi|un'ora|mezz'ora) che (?:aspetto|attendo"
            r"|aspettiamo|provo|chiamo|scrivo)", rf"{_NUMERO} (?:ore|minuti) (?:di attesa|in attesa|al telefono)",
        ],
        0.35: [r"all (?:day|night|week|weekend|morning|afternoon)", "for ages",
               r"(?:tutto il|tutta la) (?:giorno|giornata|settimana|weekend|mattina)"],
    }),
    *cues("deadline", {
        0.4: [
            rf"by (?:today|tonight|tomorrow|this evening|end of (?:the )?day|eod|close of business|{_WEEKDAY}"
            r"|the weekend|noon)", r"before (?:my|the|our) (?:flight|trip|holiday|appointment|wedding"
            r"|deadline|departure|exam|interview)", r"(?:flight|train|plane|ferry) (?:\S+ ){0,2}(?:leaves"
            r"|departs|boards|goes) (?:in|at|tomorrow|tonight|today)",
            rf"entro (?:oggi|stasera|domani|stanotte|{_GIORNO}|fine giornata|le ore|le \d+|stamattina)",
            r"scade (?:oggi|domani|stasera)", r"(?:parto|partiamo|ho il volo|ho un volo) (?:\S+ )?(?:domani"
            r"|stasera|oggi|tra)", r"prima (?:del volo|della partenza|di partire)",
        ],
        0.3: [rf"in {_NUMBER} (?:hours?|hrs?|mins?|minutes)", r"tra (?:\d+|poche|due|tre) (?:ore|minuti)",
              r"tra (?:un'ora|mezz'ora)", "deadline", "scadenza", "tonight", "stasera"],
    }),
    *guards(("waiting", "explicit"), [
        r"(?:thanks|thank you|grazie) (?:\S+ ){0,2}(?:again|ancora|di nuovo)", r"never (?:\S+ ){0,5}again",
        r"mai pi[uù]", r"(?:working|up|back|online|open|available|fine|ok|okay|normal|happy) again",
        r"(?:funziona|funzionante|attivo|disponibile|tutto ok) di nuovo", r"di nuovo (?:funzionante|attiv\w+"
        r"|disponibil\w+|a posto|ok)",
        r"(?:see|seeing|fly|flying|book|booking|shop|shopping|use|using|buy|buying|visit|choose|order) (?:\S+"
        r" ){0,3}again",
        r"(?:answered|replied|responded|fixed|sorted|resolved|helped|arrived|refunded|came|dealt with|got back"
        r"|called back|credited) (?:\S+ ){0,2}(?:immediately|right away|asap)",
        r"(?:hanno|ha|avete|hai|mi) (?:\S+ )?(?:risposto|risolto|rimborsato|aiutato|richiamato|sistemato"
        r"|spedito|consegnato|contattato) (?:\S+ )?subito",
        r"(?:ho|hai|ha|abbiamo|avete|hanno) subito",
        # What the writer will do at once is not a demand on us: "ricambio subito", "arrivo subito".
        r"(?:ricambio|arrivo|torno|rispondo|faccio|lo faccio|provvedo|vengo|passo|ti scrivo|vi scrivo) subito",
        r"subito (?:un|una|dei|delle|degli|gravi|danni|ritardi"
        r"|disagi|disservizi)", "effective immediately", "con effetto immediato",
        r"emergency (?:exit|exits|row|contact|number)",
    ]),
])

_SHOUTING_WEIGHT = 0.35  # most of the text in capitals
_SHOUTED_WORDS_WEIGHT = 0.2  # a couple of words in capitals
_EXCLAMATION_WEIGHTS = (("!!!", 0.25), ("!!", 0.15))
URGENT_THRESHOLD = 0.4  # evaluation's yes/no line; the service uses the value itself

_CAPS_WORD = re.compile(r"(?<![^\W\d_])[^\W\d_a-zà-ÿ]{2,}(?![^\W\d_])")
# Capitalised by convention, not shouted.
_ACRONYMS = frozenset({
    "ATM", "PIN", "SIM", "USA", "UK", "EU", "TV", "DM", "ID", "IBAN", "SMS", "PEC", "FCC", "BBB", "ISP",
    "GB", "MB", "WIFI", "OK", "HSBC", "PDF", "URL", "CEO", "NFT", "BTC", "ASAP", "FAQ", "IT", "BT", "EE",
    "USB", "IVA", "CAP", "SPID", "INPS", "ADSL", "FTTH", "VAT", "ETA", "UPS", "DHL", "GLS", "SOS",
})


def _shouting(text: str) -> tuple[float, str] | None:
    head = text[:MAX_CHARS]
    if head.lower() == head:  # cheap exit: nothing in capitals at all
        return None
    # isupper() is False for scripts without case (Chinese, Arabic), which must not count as shouting.
    shouted = [w for w in _CAPS_WORD.findall(head) if w.isupper() and w not in _ACRONYMS]
    if not shouted:
        return None
    words = len(head.split())
    if len(shouted) >= 3 and len(shouted) >= 0.6 * words:
        return _SHOUTING_WEIGHT, "written in capitals"
    long_words = [w for w in shouted if len(w) >= 4]
    if len(long_words) >= 2:
        return _SHOUTED_WORDS_WEIGHT, "shouted: " + " ".join(long_words[:3])
    return None


def detect_urgency(text: str) -> UrgencyResult:
    weights: list[float] = []
    cue_list: list[str] = []
    for hit in _TABLE.scan(normalise(text)):
        if hit.phrase not in cue_list:
            weights.append(hit.weight)
            cue_list.append(hit.phrase)
    shouting = _shouting(text)
    if shouting:
        weights.append(shouting[0])
        cue_list.append(shouting[1])
    for marks, weight in _EXCLAMATION_WEIGHTS:
        if marks in text:
            weights.append(weight)
            cue_list.append(marks)
            break
    return UrgencyResult(value=round(min(1.0, combine(weights)), 4), cues=tuple(cue_list))
