"""Licence-clean training messages for the shipped default model, written for this project (EN + IT).

Templates with slots, expanded by a seeded generator: customer-care messages that complain, ask or
thank, in English and Italian. All text here is original to Sportello. ``build_default`` mixes these
with the permissively licensed sets listed in ``models/SOURCES.md`` (FEEL-IT, BANKING77, VADER words).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence

Slots = Mapping[str, Sequence[str]]

EN_SLOTS: Slots = {
    "hi": ["", "Hi, ", "Hello, ", "Hey ", "Good morning, ", "Dear support, ", "@user ", "@user hi, "],
    "thing": ["order", "package", "parcel", "flight", "booking", "ticket", "refund", "invoice", "bill",
              "account", "card", "subscription", "delivery", "bag", "luggage", "reservation", "payment",
              "router", "phone", "app", "connection", "internet", "contract", "appointment", "claim"],
    "action": ["change", "update", "cancel", "check", "track", "renew", "upgrade", "transfer", "activate",
               "confirm", "reschedule", "pay", "close", "open", "reset"],
    "info": ["the opening hours", "your phone number", "the address of the nearest store", "the status of my "
             "order", "how long delivery takes", "the price of the premium plan", "which documents I need",
             "the baggage allowance", "the email address for invoices", "when the sale starts",
             "if you ship to Italy", "the terms and conditions", "the departure gate"],
    "when": ["today", "tomorrow", "next week", "on Monday", "this weekend", "before Friday", "in March", ""],
    "num": ["#12345", "AB1234", "558201", "the one ending in 42", "ZX-990"],
    "place": ["store", "branch", "office", "service centre", "help desk", "lounge", "showroom", "website"],
    "city": ["London", "Boston", "Denver", "Chicago", "Dublin", "Rome", "Milan", "Seattle", "Madrid"],
    "person": ["The CEO", "The manager", "The minister", "The company", "Our spokesperson", "The mayor"],
    "time": ["7:30", "10am", "noon", "18:45", "9 pm"],
    "info2": ["details follow by email", "more info on our website", "see the FAQ", "check the app"],
    "bad": ["terrible", "awful", "horrible", "the worst", "unacceptable", "a joke", "ridiculous",
            "disgusting", "pathetic", "useless", "a disaster", "shameful", "so bad", "really poor",
            "disappointing", "appalling", "rubbish"],
    "badevent": ["still hasn't arrived", "was cancelled again", "is delayed for the third time",
                 "arrived broken", "was lost", "has been charged twice", "stopped working",
                 "never showed up", "got stuck in customs", "was damaged", "keeps crashing",
                 "is down again", "was wrong", "disappeared"],
    "wait": ["two hours", "three days", "a week", "45 minutes", "since Monday", "all day", "10 days",
             "over a month"],
    "noreply": ["nobody answers", "no one has replied", "you keep ignoring me", "the line just drops",
                "I keep getting transferred", "your chat bot is useless", "nobody can help me",
                "I'm still on hold"],
    "angry": ["I'm so angry", "I'm furious", "I'm fed up", "I'm done with you", "never again",
              "I want my money back", "I'm cancelling", "worst company ever", "what a joke", "so frustrating",
              "thanks for nothing", "I'm really disappointed", "shame on you", "this is a scam"],
    "good": ["great", "amazing", "excellent", "fantastic", "wonderful", "perfect", "brilliant", "awesome",
             "superb", "outstanding", "lovely", "so helpful", "really kind", "super fast", "very professional"],
    "goodevent": ["arrived early", "was sorted in minutes", "was refunded right away", "works perfectly now",
                  "was upgraded for free", "got fixed quickly", "arrived on time", "was exactly what I wanted",
                  "was handled so well"],
    "who": ["", " team", " guys", " @user", " Sarah", " to the crew", " to your support team"],
    "thanks": ["Thank you", "Thanks", "Many thanks", "Thanks a lot", "Big thanks", "Thank you so much"],
    "love": ["I love it", "love you guys", "you made my day", "best service ever", "highly recommend",
             "you rock", "keep it up", "10/10", "so happy", "I'm impressed", "very satisfied"],
    "emopos": ["", "", " :)", " 😊", " 👍", " ❤", " 😍", " 🙌", "!", "!!"],
    "emoneg": ["", "", " :(", " 😡", " 👎", " 😤", " 🙄", "!", "!!", "..."],
}

EN_TEMPLATES: dict[str, list[str]] = {
    "neutral": [
        "{hi}I'd like to {action} my {thing} {when}.",
        "{hi}how do I {action} my {thing}?",
        "{hi}can you tell me {info}?",
        "{hi}is it possible to {action} the {thing} {when}?",
        "{hi}I have a question about my {thing}.",
        "{hi}please send me {info}.",
        "{hi}my {thing} number is {num}.",
        "{hi}where can I find {info}?",
        "{hi}do you know {info}?",
        "{hi}I need to {action} my {thing}, what should I do?",
        "{hi}just checking {info}.",
        "{hi}which {thing} should I choose?",
        "{hi}I sent you a DM about my {thing}.",
        "{hi}will the {thing} be ready {when}?",
        "{hi}could you confirm the {thing} {num}?",
        "My {thing} is {num}, I'd like to {action} it {when}.",
        # statements and announcements: neutral is not only questions
        "The new {place} opens {when}.",
        "{place} will be closed {when} for maintenance.",
        "We are updating the {thing} system {when}, {info2}.",
        "Our {place} in {city} changes its opening hours {when}.",
        "{person} said the {thing} prices will be reviewed {when}.",
        "{person} will present the new {thing} plan {when} in {city}.",
        "Reminder: the {thing} must be renewed {when}.",
        "The {thing} from {city} to {city} leaves at {time}.",
        "I'm travelling to {city} {when} with my {thing}.",
        "Just sent the {thing} details by email.",
    ],
    "negative": [
        "{hi}my {thing} {badevent}{emoneg}",
        "{hi}I've been waiting {wait} and {noreply}{emoneg}",
        "{hi}your service is {bad}{emoneg} {angry}",
        "{hi}{bad} experience with my {thing}. {angry}{emoneg}",
        "{hi}the {thing} {badevent} and {noreply}. {bad}{emoneg}",
        "{hi}{angry}. My {thing} {badevent}{emoneg}",
        "{hi}why is my {thing} {badevent}? {angry}{emoneg}",
        "{hi}still no {thing} after {wait}. {bad}{emoneg}",
        "{hi}this is {bad}, my {thing} {badevent}{emoneg}",
        "{hi}I can't {action} my {thing} and {noreply}{emoneg}",
        "{hi}not happy at all, the {thing} {badevent}{emoneg}",
        "{hi}{wait} on hold, {noreply}. {angry}{emoneg}",
    ],
    "positive": [
        "{thanks}{who}, my {thing} {goodevent}{emopos}",
        "{hi}{good} service, {love}{emopos}",
        "{thanks}{who} for the {good} help with my {thing}{emopos}",
        "{hi}my {thing} {goodevent}, {good}{emopos}",
        "{hi}{good} experience, {love}{emopos}",
        "{thanks}{who}! {love}{emopos}",
        "{hi}really {good} support today, {thanks}{emopos}",
        "{hi}you were {good}, the {thing} {goodevent}{emopos}",
        "{love}! {thanks}{who}{emopos}",
        "{hi}{good} job{who}, {love}{emopos}",
    ],
}

IT_SLOTS: Slots = {
    "ciao": ["", "Buongiorno, ", "Salve, ", "Ciao, ", "Buonasera, ", "Gentile assistenza, ", "@user ",
             "@user buongiorno, "],
    "cosa": ["ordine", "pacco", "volo", "biglietto", "rimborso", "abbonamento", "conto", "contratto",
             "account", "bagaglio", "pagamento", "modem", "telefono", "appuntamento", "numero", "profilo",
             "codice", "reso", "saldo", "indirizzo"],
    "azione": ["cambiare", "modificare", "annullare", "verificare", "tracciare", "rinnovare", "attivare",
               "confermare", "spostare", "pagare", "chiudere", "aprire", "aggiornare", "disdire"],
    "info": ["gli orari di apertura", "il vostro numero di telefono", "l'indirizzo del negozio più vicino",
             "lo stato del mio ordine", "quanto ci mette la consegna", "il prezzo del piano premium",
             "quali documenti servono", "la franchigia bagaglio", "la mail per le fatture",
             "quando iniziano i saldi", "se spedite all'estero", "le condizioni del contratto",
             "il gate di partenza"],
    "quando": ["oggi", "domani", "la prossima settimana", "lunedì", "questo fine settimana", "entro venerdì",
               "a marzo", ""],
    "num": ["n. 12345", "AB1234", "558201", "quello che finisce con 42", "ZX-990"],
    "luogo": ["negozio", "ufficio", "punto vendita", "centro assistenza", "sportello", "sito", "showroom"],
    "città": ["Roma", "Milano", "Napoli", "Torino", "Bologna", "Firenze", "Bari", "Palermo", "Genova"],
    "persona": ["L'amministratore delegato", "Il direttore", "Il ministro", "L'azienda", "Il portavoce",
                "Il sindaco", "Il presidente"],
    "ora": ["7:30", "10", "mezzogiorno", "18:45", "21"],
    "info2": ["i dettagli arriveranno per email", "info sul nostro sito", "vedi le FAQ", "controlla l'app"],
    "male": ["pessimo", "vergognoso", "inaccettabile", "ridicolo", "scandaloso", "una vergogna",
             "uno schifo", "terribile", "penoso", "deludente", "assurdo", "indecente", "una presa in giro",
             "orribile", "un disastro"],
    "evento": ["non è ancora arrivato", "è stato cancellato di nuovo", "è in ritardo per la terza volta",
               "è arrivato rotto", "è stato perso", "mi è stato addebitato due volte", "non funziona più",
               "non si è mai visto", "è bloccato in dogana", "è arrivato danneggiato", "continua a bloccarsi",
               "è di nuovo fuori servizio", "è sbagliato", "è sparito"],
    "attesa": ["due ore", "tre giorni", "una settimana", "45 minuti", "lunedì", "tutto il giorno", "10 giorni",
               "più di un mese"],
    "nessuno": ["nessuno risponde", "non mi avete mai risposto", "continuate a ignorarmi", "la linea cade",
                "mi passano da un operatore all'altro", "il vostro chatbot è inutile",
                "nessuno sa aiutarmi", "sono ancora in attesa"],
    "rabbia": ["sono furioso", "sono arrabbiatissimo", "non ne posso più", "basta", "mai più",
               "voglio i miei soldi indietro", "disdico tutto", "peggior azienda di sempre",
               "che presa in giro", "che vergogna", "grazie di niente", "sono davvero deluso", "vergognatevi",
               "è una truffa"],
    "bene": ["ottimo", "fantastico", "eccellente", "perfetto", "gentilissimi", "bravissimi", "super veloce",
             "molto professionale", "impeccabile", "meraviglioso", "splendido", "efficientissimi",
             "davvero disponibili"],
    "eventobuono": ["è arrivato in anticipo", "è stato risolto in pochi minuti", "è stato rimborsato subito",
                    "ora funziona perfettamente", "è stato aggiornato gratis", "è stato sistemato in fretta",
                    "è arrivato puntuale", "era proprio quello che volevo", "è stato gestito benissimo"],
    "chi": ["", " a tutto il team", " ragazzi", " @user", " Giulia", " all'equipaggio", " al vostro supporto"],
    "grazie": ["Grazie", "Grazie mille", "Grazie infinite", "Mille grazie", "Grazie davvero", "Grazie di cuore"],
    "amo": ["vi adoro", "siete i migliori", "mi avete svoltato la giornata", "servizio top",
            "vi consiglio a tutti", "continuate così", "10 e lode", "felicissimo", "sono colpito",
            "molto soddisfatto"],
    "emopos": ["", "", " :)", " 😊", " 👍", " ❤", " 😍", " 🙌", "!", "!!"],
    "emoneg": ["", "", " :(", " 😡", " 👎", " 😤", " 🙄", "!", "!!", "..."],
}

IT_TEMPLATES: dict[str, list[str]] = {
    "neutral": [
        "{ciao}vorrei {azione} il mio {cosa} {quando}.",
        "{ciao}come posso {azione} il mio {cosa}?",
        "{ciao}mi potete dire {info}?",
        "{ciao}è possibile {azione} il {cosa} {quando}?",
        "{ciao}ho una domanda sul mio {cosa}.",
        "{ciao}mi mandate {info}?",
        "{ciao}il numero del mio {cosa} è {num}.",
        "{ciao}dove trovo {info}?",
        "{ciao}sapete dirmi {info}?",
        "{ciao}devo {azione} il mio {cosa}, cosa devo fare?",
        "{ciao}volevo sapere {info}.",
        "{ciao}quale {cosa} mi conviene scegliere?",
        "{ciao}vi ho scritto in privato per il mio {cosa}.",
        "{ciao}il {cosa} sarà pronto {quando}?",
        "{ciao}potete confermare il {cosa} {num}?",
        "Il mio {cosa} è {num}, vorrei {azione}lo {quando}.",
        # affermazioni e avvisi: neutro non vuol dire solo domande
        "Il nuovo {luogo} apre {quando}.",
        "{luogo} resterà chiuso {quando} per manutenzione.",
        "Stiamo aggiornando il sistema del {cosa} {quando}, {info2}.",
        "Il nostro {luogo} di {città} cambia orario {quando}.",
        "{persona} ha detto che i prezzi del {cosa} saranno rivisti {quando}.",
        "{persona} presenterà il nuovo piano {quando} a {città}.",
        "Promemoria: il {cosa} va rinnovato {quando}.",
        "Il treno da {città} a {città} parte alle {ora}.",
        "Parto per {città} {quando} con il mio {cosa}.",
        "Ho appena mandato i dati del {cosa} per email.",
        "Secondo {persona} la riunione sul {cosa} si terrà {quando} a {città}.",
    ],
    "negative": [
        "{ciao}il mio {cosa} {evento}{emoneg}",
        "{ciao}aspetto da {attesa} e {nessuno}{emoneg}",
        "{ciao}il vostro servizio è {male}{emoneg} {rabbia}",
        "{ciao}esperienza {male} con il mio {cosa}. {rabbia}{emoneg}",
        "{ciao}il {cosa} {evento} e {nessuno}. {male}{emoneg}",
        "{ciao}{rabbia}. Il mio {cosa} {evento}{emoneg}",
        "{ciao}perché il mio {cosa} {evento}? {rabbia}{emoneg}",
        "{ciao}ancora niente {cosa} dopo {attesa}. {male}{emoneg}",
        "{ciao}è {male}, il mio {cosa} {evento}{emoneg}",
        "{ciao}non riesco a {azione} il mio {cosa} e {nessuno}{emoneg}",
        "{ciao}per niente contento, il {cosa} {evento}{emoneg}",
        "{ciao}{attesa} in attesa, {nessuno}. {rabbia}{emoneg}",
    ],
    "positive": [
        "{grazie}{chi}, il mio {cosa} {eventobuono}{emopos}",
        "{ciao}servizio {bene}, {amo}{emopos}",
        "{grazie}{chi} per l'aiuto {bene} con il mio {cosa}{emopos}",
        "{ciao}il mio {cosa} {eventobuono}, {bene}{emopos}",
        "{ciao}esperienza {bene}, {amo}{emopos}",
        "{grazie}{chi}! {amo}{emopos}",
        "{ciao}assistenza davvero {bene} oggi, {grazie}{emopos}",
        "{ciao}siete stati {bene}, il {cosa} {eventobuono}{emopos}",
        "{amo}! {grazie}{chi}{emopos}",
        "{ciao}{bene} lavoro{chi}, {amo}{emopos}",
    ],
}


def _fill(template: str, slots: Slots, rng: random.Random) -> str:
    out = template
    while "{" in out:
        start = out.index("{")
        end = out.index("}", start)
        out = out[:start] + rng.choice(slots[out[start + 1:end]]) + out[end + 1:]
    return " ".join(out.split())


def generate(per_class: int = 600, seed: int = 0, neutral_factor: int = 2) -> Iterator[tuple[str, str]]:
    """``per_class`` distinct messages per label and language (fewer if the templates run out); neutral
    gets ``neutral_factor`` times more, as its templates are the most varied."""
    rng = random.Random(seed)
    for slots, templates in ((EN_SLOTS, EN_TEMPLATES), (IT_SLOTS, IT_TEMPLATES)):
        for label, patterns in templates.items():
            seen: set[str] = set()
            wanted = per_class * (neutral_factor if label == "neutral" else 1)
            for _ in range(wanted * 20):
                if len(seen) >= wanted:
                    break
                text = _fill(rng.choice(patterns), slots, rng)
                if text not in seen:
                    seen.add(text)
                    yield text, label
